//! `ssl_certificate_by_lua*` and `ssl_client_hello_by_lua*`: Lua code run inside OpenSSL's
//! certificate callback (`SSL_CTX_set_cert_cb`) and ClientHello callback
//! (`SSL_CTX_set_client_hello_cb`) of a `listen ... ssl` stream server (upstream
//! `ngx_stream_lua_ssl_certby.c`, `ngx_stream_lua_ssl_client_helloby.c`), and how that code can
//! wait (`ngx.sleep`, cosockets, semaphores, threads) on a STOCK nginx. This file is the
//! design; it lives in `module/ssl_directives.rs` (directives, callbacks registered at
//! merge), `phase/ssl_hook.rs` (the callbacks running the hooks), `phase/ssl_drive.rs` and
//! `sys/ssl_drive.rs` (the driver), `sys/ssl_hook.rs` (raw callback and log plumbing).
//! Where the code differs from the plan below: the driver steps the handshake itself up to
//! its end (`Done`) and then hands over; the per-handshake state the hooks and the driver
//! share is a `DriveState` in the `SSL`'s ex data, owned by the connection's pool.
//!
//! # What stock nginx 1.28 does with a callback that waits
//!
//! OpenSSL lets both callbacks pause the handshake: the certificate callback returns -1, the
//! ClientHello callback `SSL_CLIENT_HELLO_RETRY`; `SSL_do_handshake` then returns -1 with
//! `SSL_get_error` = `SSL_ERROR_WANT_X509_LOOKUP` (4) / `SSL_ERROR_WANT_CLIENT_HELLO_CB` (11),
//! and the next `SSL_do_handshake` calls the same callback again (the ClientHello one re-runs
//! the whole early ClientHello processing, the certificate one re-runs from its own step).
//!
//! nginx's `ngx_ssl_handshake` (src/event/ngx_event_openssl.c) knows only `WANT_READ` and
//! `WANT_WRITE`. Any other code takes the failure branch: it sets `no_wait_shutdown`,
//! `no_send_shutdown` and `c->read->eof`; since a retry leaves OpenSSL's error queue empty,
//! `ERR_peek_error() == 0` holds and it logs "peer closed connection in SSL handshake" and
//! returns `NGX_ERROR`. In the stream module, `ngx_stream_ssl_init_connection` passes that on,
//! `ngx_stream_ssl_handler` (the `NGX_STREAM_SSL_PHASE` handler) returns it, and the generic
//! phase checker finalizes the session: the client sees its connection closed. OpenResty's
//! `ssl_cert_cb_yield` / `ssl_client_hello_cb_yield` patches add exactly the two missing
//! branches (set `ngx_ssl_handshake_handler` on both events and return `NGX_AGAIN`).
//!
//! # The plan: our own handshake driver in front of nginx's, in the SSL phase
//!
//! The stream SSL phase runs its handlers last-registered first
//! (`ngx_stream_init_phase_handlers` walks each phase's array backwards), and a dynamic
//! module's `postconfiguration` runs after `ngx_stream_ssl_module`'s. So a handler we push
//! into `phases[NGX_STREAM_SSL_PHASE]` runs BEFORE `ngx_stream_ssl_handler`, with the same
//! session, while `c->ssl` is still null. For servers with a TLS hook it does the start of
//! the handshake itself, and hands it to nginx once no hook can wait any more:
//!
//! 1. **Set up** as `ngx_stream_ssl_init_connection` does: `tcp_nodelay`,
//!    `ngx_ssl_create_connection(&sscf->ssl, c, 0)` with `ngx_stream_ssl_module`'s server
//!    configuration (`ngx_stream_ssl_srv_conf_t`: `ssl`, `handshake_timeout`), and
//!    `ngx_add_timer(c->read, handshake_timeout)`. Mark the `SSL` as driven by us
//!    (`SSL_set_ex_data` with our index, or a flag in our `Session`, made now so that
//!    `ngx.ctx` carries into preread, content and log as upstream does). TLS 1.3 early data is
//!    turned off for such connections (`SSL_set_max_early_data(ssl, 0)`, `try_early_data =
//!    0`): `ngx_ssl_try_early_data` is nginx's and would not see our retries.
//! 2. **Step** with `SslConn::handshake_step` (one raw `SSL_do_handshake`, classified):
//!    - `WantRead`/`WantWrite`: our event handler on `c->read`/`c->write`
//!      (`ngx_handle_read_event`/`ngx_handle_write_event`), which steps again; the phase
//!      handler returns `NGX_AGAIN`. A timed-out read event finalizes the session (the
//!      session's cleanup ends the hook's Lua thread).
//!    - `WantClientHelloCb`/`WantCertCb`: the hook's Lua thread waits. Both events get a
//!      parked handler that only watches the timer (no read: the bytes belong to OpenSSL).
//!      When the thread ends, its completion (the scheduler's `on_done`) posts an event
//!      (`ngx_post_event`, never a direct call: the thread may end deep inside a cosocket or
//!      timer handler) whose handler steps again; the callback, called again by OpenSSL,
//!      finds the result and returns 1, or 0 / `SSL_CLIENT_HELLO_ERROR` with
//!      `*al = SSL_AD_INTERNAL_ERROR` on `ngx.exit(ngx.ERROR)` or a Lua error.
//!    - `Failed`: log as nginx does (`ngx_ssl_error` with "SSL_do_handshake() failed", or
//!      "peer closed connection in SSL handshake" when the queue is empty) and finalize with
//!      `NGX_STREAM_INTERNAL_SERVER_ERROR`, as `ngx_stream_ssl_handshake_handler` would.
//!    - `Done` (or: the certificate hook has returned, or the ClientHello hook has returned
//!      and the selected server has no certificate hook): hand over.
//! 3. **Hand over**: call `ngx_ssl_handshake(c)`. OpenSSL continues where our last step
//!    stopped (typically `WANT_READ` for the client's Finished), so nginx does all that
//!    follows as usual: early-data state, `handshaked = 1`, `c->recv`/`c->send` = the SSL
//!    ones, renegotiation off, OCSP validation of client certificates. On `NGX_AGAIN`, set
//!    `c->ssl->handler` to our copy of the static `ngx_stream_ssl_handshake_handler`
//!    (finalize when not `handshaked`, else delete the read timer and
//!    `ngx_stream_core_run_phases(s)`); on `NGX_OK`, run the phases; on `NGX_ERROR`,
//!    finalize. When the phases run again, our handler sees `c->ssl->handshaked` and returns
//!    `NGX_DECLINED`, so `ngx_stream_ssl_handler` finds `c->ssl` set, skips its own setup and
//!    does its client-certificate checks (`ssl_verify_client`) unchanged.
//!
//! The callbacks decide between waiting and not: they run the hook's Lua thread at once;
//! if it ends without waiting, they return the result directly (no retry at all, the same
//! path as upstream on an unpatched nginx). Only when it waits AND the `SSL` is marked as
//! driven do they return the retry value. On an `SSL` we do not drive (none should exist
//! once the phase handler is registered, but e.g. a renegotiation attempt or a future nginx
//! path) a waiting hook is refused as upstream refuses yielding APIs on a stock nginx, and
//! the handshake fails with upstream's log line.
//!
//! # Where each callback comes from
//!
//! - ClientHello: OpenSSL calls the callback of the `SSL_CTX` the `SSL` was made from, that
//!   is the default server of the listening address (`sscf->ssl.ctx` of the server our
//!   phase handler runs for). It runs before nginx's SNI callback
//!   (`ngx_stream_ssl_servername`), so before a virtual server is chosen: upstream has the
//!   same order. `ngx.ssl.clienthello` reads the hello with
//!   `SSL_client_hello_get0_ext`/`SSL_client_hello_get1_extensions_present`, and
//!   `set_protocols` sets the `SSL`'s min/max versions.
//! - Certificate: `ngx_stream_ssl_servername` may switch the `SSL` to the chosen server's
//!   `SSL_CTX` (`SSL_set_SSL_CTX`, which copies that context's certificate state, the
//!   callback included) and `s->srv_conf` with it. So the callback is registered on the
//!   `SSL_CTX` of every server with `ssl_certificate_by_lua*`, and it reads the hook from
//!   `s->srv_conf` (through `ngx_ssl_get_connection(ssl)->data`), giving the chosen server's
//!   code as upstream does. `ngx.ssl.clear_certs`/`set_der_cert`/`set_cert`/`set_priv_key`
//!   use `SSL_certs_clear`, `SSL_use_certificate`, `SSL_add1_chain_cert`,
//!   `SSL_use_PrivateKey` (which refuses a key that does not match the certificate).
//!
//! # The alternative not taken
//!
//! Running the hooks from a phase handler before nginx's TLS handler on a peeked ClientHello
//! (as `ssl_preread` parses it) also avoids patching, but then no `SSL` exists while the Lua
//! code runs: every `ngx.ssl` and `ngx.ssl.clienthello` function would need a second
//! implementation over our own parser and a list of pending decisions applied later, a
//! HelloRetryRequest's second ClientHello would never be seen, and the certificate hook would
//! run before the SNI server switch. Driving the real handshake keeps OpenSSL's state and
//! upstream's order, at the cost of the setup and hand-over above.
//!
//! # Directives
//!
//! `src/module/ssl_directives.rs` will hold the handlers of `ssl_certificate_by_lua_block`,
//! `ssl_certificate_by_lua_file`, `ssl_client_hello_by_lua_block` and
//! `ssl_client_hello_by_lua_file` (server context; upstream also allows them in `stream {}`),
//! storing the code like the other `*_by_lua*` slots; the merge step refuses a server that
//! has a hook but no TLS (`sscf->ssl.ctx` null) with upstream's "no ssl configured for the
//! server" and registers the two callbacks on `sscf->ssl.ctx`; the phase handler is pushed
//! in `postconfiguration` when any server has a hook.
