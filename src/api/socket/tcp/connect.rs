//! `connect`: the connection pool's queue (`backlog`), name resolution and the connect itself.

use super::*;

/// The options table of connect: (pool name, pool_size, backlog).
pub(super) type ConnectOptions = (Option<Vec<u8>>, usize, Option<i64>);

pub(super) unsafe fn connect_options(l: *mut lua_State, idx: c_int) -> Result<ConnectOptions, LuaError> {
    // SAFETY: idx holds a table.
    unsafe {
        let mut pool_size = 0usize;
        raw::lua_getfield(l, idx, c"pool_size".as_ptr());
        if raw::lua_isnumber(l, -1) != 0 {
            let v = raw::lua_tointeger(l, -1);
            if v <= 0 {
                return Err(LuaError::Arg(idx, "connect", format!("bad \"pool_size\" option value: {v}")));
            }
            pool_size = v as usize;
        } else if raw::lua_type(l, -1) != LUA_TNIL {
            let got = type_name(l, raw::lua_type(l, -1));
            return Err(LuaError::Arg(idx, "connect", format!("bad \"pool_size\" option type: {got}")));
        }
        raw::lua_settop(l, -2);
        let mut backlog = None;
        raw::lua_getfield(l, idx, c"backlog".as_ptr());
        if raw::lua_isnumber(l, -1) != 0 {
            let v = raw::lua_tointeger(l, -1);
            if v < 0 {
                return Err(LuaError::Arg(idx, "connect", format!("bad \"backlog\" option value: {v}")));
            }
            backlog = Some(v);
        }
        raw::lua_settop(l, -2);
        raw::lua_getfield(l, idx, c"pool".as_ptr());
        let pool = match raw::lua_type(l, -1) {
            LUA_TNUMBER | LUA_TSTRING => Some(to_bytes(l, -1).unwrap_or_default().to_vec()),
            LUA_TNIL => None,
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(idx, "connect", format!("bad \"pool\" option type: {got}")));
            }
        };
        raw::lua_settop(l, -2);
        Ok((pool, pool_size, backlog))
    }
}

pub(super) unsafe fn connect_impl(l: *mut lua_State) -> LuaResult {
    // SAFETY: l is the running coroutine.
    unsafe {
        let mut n = raw::lua_gettop(l);
        if !(2..=4).contains(&n) {
            return err(format!(
                "ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen {n}"
            ));
        }
        let sess = current_session(l)?;
        check_phase(&*sess, Phase::YIELDABLE)?;
        let mut pool = None;
        let mut pool_size = 0;
        let mut backlog = None;
        if raw::lua_type(l, n) == LUA_TTABLE {
            (pool, pool_size, backlog) = connect_options(l, n)?;
            n -= 1;
        }
        let host = match raw::lua_type(l, 2) {
            LUA_TSTRING | LUA_TNUMBER => to_bytes(l, 2).unwrap_or_default().to_vec(),
            t => {
                let got = type_name(l, t);
                return Err(LuaError::Arg(2, "connect", format!("string expected, got {got}")));
            }
        };
        let port = if n >= 3 {
            if raw::lua_isnumber(l, 3) == 0 {
                let got = type_name(l, raw::lua_type(l, 3));
                return Err(LuaError::Arg(3, "connect", format!("number expected, got {got}")));
            }
            let p = raw::lua_tointeger(l, 3);
            if !(0..=65535).contains(&p) {
                return fail(l, format!("bad port number: {p}").as_bytes());
            }
            Some(p as u16)
        } else {
            None
        };
        let (sess, sock) = this_in_session(l, "connect")?;
        if let Some(busy) = sock.busy() {
            return fail(l, busy);
        }
        if sock.connected() {
            log_debug(sock.log(), "stream lua tcp socket reconnect without shutting down");
            sock.close_connection();
        }
        if !sock.pool_key.is_empty() || sock.sess == sess {
            log_debug(sock.log(), "lua reuse socket upstream ctx");
        }
        sock.link(sess);
        sock.conf = socket_conf(&*sess);
        sock.recv.set_chunk(sock.conf.buffer_size());
        let name = match port {
            Some(p) => format!("{}:{p}", String::from_utf8_lossy(&host)),
            None => String::from_utf8_lossy(&host).into_owned(),
        };
        sock.pool_key = socket_pool::vm_key((*sess).l, &pool.unwrap_or_else(|| name.clone().into_bytes()));
        sock.pool_size = pool_size;
        sock.peer_name = name;
        sock.reused = 0;

        if let Some(idle) = socket_pool::take(&sock.pool_key, sock.logger()) {
            sock.reused = idle.reused + 1;
            sock.in_pool = true;
            sock.attach_connection(idle.c);
            raw::lua_pushinteger(l, 1);
            return Ok(1);
        }
        let create = (pool_size > 0 || backlog.is_some())
            .then(|| (if pool_size > 0 { pool_size } else { sock.conf.pool_size() }, backlog.unwrap_or(-1)));
        let port = port.unwrap_or(0);
        match socket_pool::join(&sock.pool_key, create, sock.logger()) {
            Join::NoPool => sock.in_pool = false,
            Join::Joined => sock.in_pool = true,
            Join::TooMany => return fail(l, b"too many waiting connect operations"),
            Join::Queued => {
                sock.in_pool = true;
                if let Err(e) = ensure_yieldable(l) {
                    sock.leave_pool();
                    return Err(e);
                }
                return queue_connect(sess, sock, host, port);
            }
        }
        proceed(l, sess, sock, &host, port, false)
    }
}

/// Connects `sock` (past the pool checks) to `host`; `resumed`: for a thread that already
/// yielded (its results then come through `wake`, an `Err(Yield)` meaning it still waits).
pub(super) unsafe fn proceed(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    host: &[u8],
    port: u16,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the session of the connecting thread.
    unsafe {
        let r = match parse_addr(host, port) {
            Ok(Some(addr)) => start_connect(l, sess, sock, &addr, resumed),
            Ok(None) => connect_by_name(l, sess, sock, host, port, resumed),
            Err(msg) => fail(l, msg.as_bytes()),
        };
        if r.is_ok() && !sock.connected() {
            sock.leave_pool();
        }
        r
    }
}

/// Waits for a slot of the socket's pool (`backlog`), at most the connect timeout.
pub(super) unsafe fn queue_connect(sess: *mut Session, sock: &mut TcpSocket, host: Vec<u8>, port: u16) -> LuaResult {
    // SAFETY: sess is the running session.
    unsafe {
        let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
        let deadline = ngx_current_msec.wrapping_add(timeout);
        sock.queued = Some((host, port, deadline));
        let me = sock as *mut TcpSocket as *mut c_void;
        socket_pool::enqueue(&sock.pool_key, me, queued_go);
        wait_queued(sock, (*sess).cur);
        yield_values(0)
    }
}

/// Makes thread `t` wait in the queue for `sock` (queued already) until its deadline.
pub(super) unsafe fn wait_queued(sock: &mut TcpSocket, t: *mut Thread) {
    // SAFETY: t is the socket's connecting thread; its event dies with it.
    unsafe {
        let deadline = sock.queued.as_ref().map_or(0, |q| q.2);
        sock.connector = t;
        (*t).pending = Some(cancel_queued);
        (*t).wait_obj = sock as *mut TcpSocket as *mut c_void;
        let left = deadline.wrapping_sub(ngx_current_msec) as isize;
        (*t).sleep_ev.arm(left.max(1) as ngx_msec_t, queued_timed_out, t as *mut c_void, sock.log());
    }
}

pub(super) unsafe fn cancel_queued(_sess: *mut Session, t: *mut Thread) {
    // SAFETY: the thread's wait object is the queued socket.
    unsafe {
        log_debug((*t).sleep_ev.log(), "stream lua tcp socket abort queueing");
        let me = (*t).wait_obj;
        let sock = &mut *(me as *mut TcpSocket);
        (*t).wait_obj = ptr::null_mut();
        socket_pool::dequeue(&sock.pool_key, me);
        sock.queued = None;
        sock.connector = ptr::null_mut();
        sock.leave_pool();
    }
}

pub(super) unsafe extern "C" fn queued_timed_out(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting thread, live while its event is armed.
        unsafe {
            let t = (*ev).data as *mut Thread;
            let sess = (*t).sess;
            let sock = &mut *((*t).wait_obj as *mut TcpSocket);
            if sock.conf.log_errors() {
                let msg = format!(
                    "stream lua tcp socket queued connect timed out, when trying to connect to {}",
                    sock.peer_name
                );
                log_error(NGX_LOG_ERR, sock.log(), 0, msg.as_bytes());
            }
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
            let me = sock as *mut TcpSocket as *mut c_void;
            socket_pool::dequeue(&sock.pool_key, me);
            sock.queued = None;
            sock.connector = ptr::null_mut();
            // as upstream, a timed-out wait gives its count back without waking the next one
            if std::mem::take(&mut sock.in_pool) {
                socket_pool::uncount(&sock.pool_key, sock.logger());
            }
            raw::lua_pushnil((*t).co);
            push_bytes((*t).co, b"timeout");
            wake(sess, t, 2);
        }
    })
}

/// A slot freed up for a queued connect: it goes on from a posted event (not from inside
/// the call that freed the slot). Called again before that event runs, it changes nothing.
pub(super) unsafe fn queued_go(data: *mut c_void) {
    // SAFETY: data is a queued socket; its connector thread waits.
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        let t = sock.connector;
        let ev = (*t).sleep_ev.event();
        if ev.timer_set() != 0 {
            ngx_del_timer(ev);
        }
        ev.handler = Some(queued_run);
        ngx_post_event(ev, std::ptr::addr_of_mut!(ngx_posted_events));
    }
}

pub(super) unsafe extern "C" fn queued_run(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: ev->data is the waiting thread; its wait object the socket.
        unsafe {
            let t = (*ev).data as *mut Thread;
            let sess = (*t).sess;
            let sock = &mut *((*t).wait_obj as *mut TcpSocket);
            (*t).pending = None;
            (*t).wait_obj = ptr::null_mut();
            sock.connector = ptr::null_mut();
            let me = sock as *mut TcpSocket as *mut c_void;
            socket_pool::dequeue(&sock.pool_key, me);
            if sock.queued.is_none() {
                return;
            }
            let co = (*t).co;
            log_debug(sock.log(), "stream lua tcp socket resuming queued connect operation");
            let n = if let Some(idle) = socket_pool::take_counted(&sock.pool_key, sock.logger()) {
                sock.queued = None;
                sock.reused = idle.reused + 1;
                sock.attach_connection(idle.c);
                raw::lua_pushinteger(co, 1);
                1
            } else if !socket_pool::has_room(&sock.pool_key) {
                // the idle connection kept for it was closed and the freed slot taken: wait on
                log_debug(sock.log(), "stream lua tcp socket queue connect operation again");
                socket_pool::requeue(&sock.pool_key, me, queued_go);
                wait_queued(sock, t);
                return;
            } else {
                let Some((host, port, _)) = sock.queued.take() else { return };
                let prev = (*sess).cur;
                (*sess).cur = t;
                let r = proceed(co, sess, sock, &host, port, true);
                (*sess).cur = prev;
                match r {
                    Ok(n) => n,
                    Err(LuaError::Yield(_)) => return,
                    Err(_) => {
                        sock.leave_pool();
                        raw::lua_pushnil(co);
                        push_bytes(co, b"failed to connect");
                        2
                    }
                }
            };
            wake(sess, t, n);
        }
    })
}

/// A host name: resolved through the server's `resolver` (the answer resumes the connect).
pub(super) unsafe fn connect_by_name(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    host: &[u8],
    port: u16,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the running session.
    unsafe {
        if !resumed {
            ensure_yieldable(l)?;
        }
        let me = sock as *mut TcpSocket as *mut c_void;
        match crate::api::socket::resolve::start(sess, host, port, me, resolved, resolve_cancelled) {
            Resolve::Ready(Ok(sockaddr)) => {
                let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
                start_connect(l, sess, sock, &addr, resumed)
            }
            Resolve::Ready(Err(msg)) => {
                log_resolve_error(sock, &msg);
                fail(l, msg.as_bytes())
            }
            Resolve::Waiting => {
                sock.connector = (*sess).cur;
                yield_values(0)
            }
        }
    }
}

/// A name that could not be resolved is only a debug line, as upstream: the caller gets the
/// error text.
pub(super) fn log_resolve_error(sock: &TcpSocket, msg: &str) {
    sock.logger().debug(&format!("stream lua tcp socket resolver error: {msg}"));
}

/// The thread that waited for the resolver was killed (or its session ended): as upstream,
/// its pool slot goes to the next queued connect.
pub(super) unsafe fn resolve_cancelled(data: *mut c_void) {
    // SAFETY: data is the socket that asked, still live (a socket dies with its session).
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        sock.connector = ptr::null_mut();
        sock.leave_pool();
    }
}

/// The resolver's answer for a connect by name: connect to the address, or fail.
pub(super) unsafe fn resolved(sess: *mut Session, t: *mut Thread, data: *mut c_void, res: Result<Vec<u8>, String>) {
    // SAFETY: data is the socket that asked; it is linked to the live session.
    unsafe {
        let sock = &mut *(data as *mut TcpSocket);
        sock.connector = ptr::null_mut();
        let co = (*t).co;
        let n = match res {
            Ok(sockaddr) => {
                let addr = PeerAddr { sockaddr, name: sock.peer_name.clone().into_bytes() };
                // connect as the waiting thread
                let prev = (*sess).cur;
                (*sess).cur = t;
                let r = start_connect(co, sess, sock, &addr, true);
                (*sess).cur = prev;
                match r {
                    Ok(n) => n,
                    // connecting: the connect handler resumes the thread
                    Err(LuaError::Yield(_)) => return,
                    Err(_) => {
                        raw::lua_pushnil(co);
                        push_bytes(co, b"failed to connect");
                        2
                    }
                }
            }
            Err(msg) => {
                log_resolve_error(sock, &msg);
                sock.leave_pool();
                raw::lua_pushnil(co);
                push_bytes(co, msg.as_bytes());
                2
            }
        };
        wake(sess, t, n);
    }
}

/// Connects to `addr`; yields while the connection is in progress.
/// `resumed`: called from the resolver's answer for a thread that already yielded.
pub(super) unsafe fn start_connect(
    l: *mut lua_State,
    sess: *mut Session,
    sock: &mut TcpSocket,
    addr: &PeerAddr,
    resumed: bool,
) -> LuaResult {
    // SAFETY: sess is the running session; the peer struct lives only during this call (nginx
    // copies what it needs into the connection).
    unsafe {
        let mut name = ngx_str_t { len: addr.name.len(), data: addr.name.as_ptr() as *mut u8 };
        let mut pc: ngx_peer_connection_t = std::mem::zeroed();
        pc.sockaddr = addr.sockaddr.as_ptr() as *mut sockaddr;
        pc.socklen = addr.sockaddr.len() as socklen_t;
        pc.name = &mut name;
        pc.get = Some(ngx_event_get_peer);
        pc.log = sock.log();
        pc.set_log_error(1); // NGX_ERROR_ERR: connect() failures are logged as errors
        pc.type_ = libc::SOCK_STREAM;
        let mut local: ngx_addr_t = std::mem::zeroed();
        if let Some(sa) = &sock.local {
            local.sockaddr = sa.as_ptr() as *mut sockaddr;
            local.socklen = sa.len() as socklen_t;
            pc.local = &mut local;
        }
        let rc = ngx_event_connect_peer(&mut pc);
        log_debug(sock.log(), &format!("stream lua tcp socket connect: {rc}"));
        if rc == NGX_ERROR as isize || rc == NGX_DECLINED as isize {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if !pc.connection.is_null() {
                socket_pool::close_conn(pc.connection);
            }
            return fail(l, errno_text(errno).as_bytes());
        }
        if rc == NGX_BUSY as isize {
            return fail(l, b"no live connection");
        }
        let c = pc.connection;
        // a pool of its own, for TLS (kept with the connection in a keepalive pool)
        (*c).pool = ngx_create_pool(128, sock.log());
        if (*c).pool.is_null() {
            socket_pool::close_conn(c);
            return fail(l, b"no memory");
        }
        sock.attach_connection(c);
        if rc == NGX_OK as isize {
            log_debug(sock.log(), &format!("stream lua tcp socket connected: fd:{}", (*c).fd));
            raw::lua_pushinteger(l, 1);
            return Ok(1);
        }
        // NGX_AGAIN: wait for the write event (or the connect timeout)
        if !resumed {
            if let Err(e) = ensure_yieldable(l) {
                sock.close_connection();
                return Err(e);
            }
        }
        let timeout = or_default(sock.connect_timeout, sock.conf.connect_timeout());
        log_debug(sock.log(), &format!("stream lua tcp socket connect timeout: {timeout}"));
        ngx_add_timer((*c).write, timeout);
        sock.connector = (*sess).cur;
        (*sock.connector).pending = Some(cancel_wait);
        (*sock.connector).wait_obj = sock as *mut TcpSocket as *mut c_void;
        yield_values(0)
    }
}

/// The outcome of a connect in progress, once the write (or read) event fired.
pub(super) unsafe fn connect_done(sock: &mut TcpSocket, timed_out: bool) {
    // SAFETY: the socket's connector waits; its session is live.
    unsafe {
        let t = sock.connector;
        let co = (*t).co;
        let c = sock.c;
        let n = if timed_out {
            if sock.conf.log_errors() {
                let msg = format!("stream lua tcp socket connect timed out, when connecting to {}", sock.peer_name);
                log_error(NGX_LOG_ERR, sock.log(), 0, msg.as_bytes());
            }
            sock.close_connection();
            raw::lua_pushnil(co);
            push_bytes(co, b"timeout");
            2
        } else {
            let mut errno: c_int = 0;
            let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
            if libc::getsockopt(
                (*c).fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                &mut errno as *mut c_int as *mut c_void,
                &mut len,
            ) == -1
            {
                errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            }
            if errno != 0 {
                if sock.conf.log_errors() {
                    log_error(NGX_LOG_ERR, sock.log(), errno, b"connect() failed");
                }
                sock.close_connection();
                raw::lua_pushnil(co);
                push_bytes(co, errno_text(errno).as_bytes());
                2
            } else {
                if (*(*c).write).timer_set() != 0 {
                    ngx_del_timer((*c).write);
                }
                log_debug(sock.log(), &format!("stream lua tcp socket connected: fd:{}", (*c).fd));
                raw::lua_pushinteger(co, 1);
                1
            }
        };
        sock.connector = ptr::null_mut();
        (*t).pending = None;
        (*t).wait_obj = ptr::null_mut();
        wake(sock.sess, t, n);
    }
}
