//! Network side of a test: the stream client and the mock TCP/UDP servers of `tcp_listen` and
//! `udp_listen`.
//!
//! Upstream Test::Nginx drives stream servers through an HTTP location whose Lua code connects,
//! sends the request, reads until the server closes, and prints either the data or an error
//! line such as "receive stream response error: timeout".  The client here talks to the stream
//! servers directly and produces the same text.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Error text the way the Lua cosocket API words it.
pub fn cosocket_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::BrokenPipe => "broken pipe".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timeout".into(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}

pub struct Conversation {
    pub port: u16,
    pub request: Option<Vec<u8>>,
}

pub struct ClientResult {
    /// What the upstream HTTP proxy location would have printed.
    pub output: Vec<u8>,
    /// Raw bytes received from each server (for `log_stream_response`).
    pub received: Vec<u8>,
    /// The overall timeout expired without `--- abort`.
    pub timed_out: bool,
}

pub struct ClientOptions {
    pub timeout: Duration,
    pub abort: bool,
    /// Print the data received (only when the block checks the response).
    pub print_data: bool,
    /// `--- shutdown`: half-close the client side after sending (SHUT_WR=1, SHUT_RD=0, both=2).
    pub shutdown: Option<i32>,
    /// How the first conversation's client misbehaves (`crate::abuse`).
    pub abuse: crate::abuse::Abuse,
}

enum ReadEnd {
    Eof,
    Timeout,
    Error(io::Error),
}

fn read_all(s: &mut TcpStream, deadline: Instant, buf: &mut Vec<u8>) -> ReadEnd {
    let mut chunk = [0u8; 16384];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return ReadEnd::Timeout;
        }
        let _ = s.set_read_timeout(Some(deadline - now));
        match s.read(&mut chunk) {
            Ok(0) => return ReadEnd::Eof,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return ReadEnd::Timeout
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return ReadEnd::Error(e),
        }
    }
}

/// Talks to each stream server in turn, like Test::Nginx::Socket::Lua::Stream's client.
pub fn converse(convs: &[Conversation], opts: &ClientOptions) -> ClientResult {
    let deadline = Instant::now() + opts.timeout;
    let mut out = Vec::new();
    let mut received = Vec::new();
    let abuse = &opts.abuse;
    // idle connections to the first server, held until every conversation is over
    let _idle = match convs.first() {
        Some(c) if abuse.idle_connections > 0 => match crate::abuse::open_idle(c.port, abuse.idle_connections) {
            Ok(v) => v,
            Err(e) => {
                out.extend_from_slice(format!("idle connections error: {}\n", cosocket_error(&e)).as_bytes());
                return ClientResult { output: out, received, timed_out: false };
            }
        },
        _ => Vec::new(),
    };
    for (i, conv) in convs.iter().enumerate() {
        let first = i == 0;
        let addr = SocketAddr::from(([127, 0, 0, 1], conv.port));
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let mut s = match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => s,
            Err(e) => {
                out.extend_from_slice(format!("connect to stream server error: {}\n", cosocket_error(&e)).as_bytes());
                return ClientResult { output: out, received, timed_out: false };
            }
        };
        let _ = s.set_nodelay(true);
        if let (Some(req), Some(delay), true) = (&conv.request, abuse.trickle, first) {
            // slowloris: the server may give up first; read its answer all the same
            let _ = crate::abuse::trickle(&mut s, req, delay, deadline);
        } else if let Some(req) = &conv.request {
            let _ = s.set_write_timeout(Some(left));
            if let Err(e) = s.write_all(req) {
                out.extend_from_slice(format!("send stream request error: {}\n", cosocket_error(&e)).as_bytes());
                return ClientResult { output: out, received, timed_out: false };
            }
        }
        if first && abuse.reset_after_request {
            crate::abuse::reset(s);
            continue;
        }
        if let (Some(n), true) = (abuse.reset_after_bytes, first) {
            let data = crate::abuse::read_n(&mut s, n, deadline);
            received.extend_from_slice(&data);
            if opts.print_data {
                out.extend_from_slice(&data);
            }
            crate::abuse::reset(s);
            continue;
        }
        if let Some(how) = opts.shutdown {
            let _ = s.shutdown(match how {
                0 => Shutdown::Read,
                2 => Shutdown::Both,
                _ => Shutdown::Write,
            });
        }
        let mut data = Vec::new();
        match read_all(&mut s, deadline, &mut data) {
            ReadEnd::Eof => {
                received.extend_from_slice(&data);
                if opts.print_data {
                    out.extend_from_slice(&data);
                }
            }
            ReadEnd::Timeout if opts.abort => {
                received.extend_from_slice(&data);
                out.extend_from_slice(b"receive stream response error: timeout\n");
                return ClientResult { output: out, received, timed_out: false };
            }
            ReadEnd::Timeout => {
                received.extend_from_slice(&data);
                if opts.print_data {
                    out.extend_from_slice(&data);
                }
                return ClientResult { output: out, received, timed_out: true };
            }
            ReadEnd::Error(e) => {
                received.extend_from_slice(&data);
                out.extend_from_slice(format!("receive stream response error: {}\n", cosocket_error(&e)).as_bytes());
                return ClientResult { output: out, received, timed_out: false };
            }
        }
    }
    ClientResult { output: out, received, timed_out: false }
}

/// Behaviour of the mock TCP server (`--- tcp_listen` and friends).
#[derive(Clone)]
pub struct TcpMockSpec {
    pub target: String,
    /// Bytes to read before replying (`tcp_query_len`, or the length of `tcp_query`).
    pub query_len: Option<usize>,
    /// `tcp_query_auto_timeout`: read until idle for this long instead.
    pub auto_timeout: Option<Duration>,
    pub shutdown: Option<i32>,
    pub shutdown_delay: Duration,
    pub reply_delay: Duration,
    pub reply: Vec<Vec<u8>>,
    pub no_close: bool,
}

/// A mock server thread; collects what it received.
pub struct Mock {
    stop: Arc<AtomicBool>,
    pub received: Arc<Mutex<Vec<u8>>>,
    handle: Option<JoinHandle<()>>,
    cleanup: Option<std::path::PathBuf>,
}

impl Mock {
    pub fn finish(mut self) -> Vec<u8> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        if let Some(p) = self.cleanup.take() {
            let _ = std::fs::remove_file(p);
        }
        let data = self.received.lock().unwrap().clone();
        data
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

trait Conn: Read + Write + Send {
    fn shut(&self, how: Shutdown);
    fn set_timeout(&self, d: Option<Duration>);
}

impl Conn for TcpStream {
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
    fn set_timeout(&self, d: Option<Duration>) {
        let _ = self.set_read_timeout(d);
    }
}

impl Conn for std::os::unix::net::UnixStream {
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
    fn set_timeout(&self, d: Option<Duration>) {
        let _ = self.set_read_timeout(d);
    }
}

enum AnyListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl AnyListener {
    fn accept(&self) -> io::Result<Box<dyn Conn>> {
        match self {
            AnyListener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nonblocking(false);
                Box::new(s) as Box<dyn Conn>
            }),
            AnyListener::Unix(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nonblocking(false);
                Box::new(s) as Box<dyn Conn>
            }),
        }
    }
}

pub fn start_tcp_mock(spec: TcpMockSpec) -> Result<Mock, String> {
    let mut cleanup = None;
    let listener = if let Ok(port) = spec.target.trim().parse::<u16>() {
        let l = TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("tcp_listen {}: {}", port, e))?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        AnyListener::Tcp(l)
    } else if spec.target.ends_with(".sock") {
        let _ = std::fs::remove_file(&spec.target);
        let l = UnixListener::bind(&spec.target).map_err(|e| format!("tcp_listen {}: {}", spec.target, e))?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        cleanup = Some(std::path::PathBuf::from(&spec.target));
        AnyListener::Unix(l)
    } else {
        return Err(format!("bad tcp_listen target: {}", spec.target));
    };
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (stop2, recv2) = (stop.clone(), received.clone());
    let handle = std::thread::spawn(move || serve_tcp(listener, spec, stop2, recv2));
    Ok(Mock { stop, received, handle: Some(handle), cleanup })
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn serve_tcp(listener: AnyListener, spec: TcpMockSpec, stop: Arc<AtomicBool>, received: Arc<Mutex<Vec<u8>>>) {
    let mut conn = loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match listener.accept() {
            Ok(c) => break c,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let (mut no_read, mut no_write) = (false, false);
    if let Some(how) = spec.shutdown {
        sleep_unless_stopped(spec.shutdown_delay, &stop);
        match how {
            0 => conn.shut(Shutdown::Read),
            1 => conn.shut(Shutdown::Write),
            _ => conn.shut(Shutdown::Both),
        }
        if how == 1 {
            no_write = true;
        } else {
            no_read = true;
        }
    }
    if !no_read {
        let mut buf = [0u8; 4096];
        let poll = Duration::from_millis(50);
        let mut idle_since = Instant::now();
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            conn.set_timeout(Some(poll));
            match conn.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    idle_since = Instant::now();
                    let mut r = received.lock().unwrap();
                    r.extend_from_slice(&buf[..n]);
                    if spec.auto_timeout.is_none() && spec.query_len.is_none_or(|l| r.len() >= l) {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) =>
                {
                    if let Some(t) = spec.auto_timeout {
                        if idle_since.elapsed() >= t {
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
        }
    }
    sleep_unless_stopped(spec.reply_delay, &stop);
    if !no_write {
        for r in &spec.reply {
            if conn.write_all(r).is_err() {
                break;
            }
        }
    }
    if spec.no_close {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[derive(Clone)]
pub struct UdpMockSpec {
    pub target: String,
    pub reply_delay: Duration,
    pub reply: Vec<Vec<u8>>,
}

pub fn start_udp_mock(spec: UdpMockSpec) -> Result<Mock, String> {
    let mut cleanup = None;
    enum Sock {
        Inet(UdpSocket),
        Unix(std::os::unix::net::UnixDatagram),
    }
    let sock = if let Ok(port) = spec.target.trim().parse::<u16>() {
        Sock::Inet(UdpSocket::bind(("0.0.0.0", port)).map_err(|e| format!("udp_listen {}: {}", port, e))?)
    } else if spec.target.ends_with(".sock") {
        let _ = std::fs::remove_file(&spec.target);
        cleanup = Some(std::path::PathBuf::from(&spec.target));
        Sock::Unix(
            std::os::unix::net::UnixDatagram::bind(&spec.target)
                .map_err(|e| format!("udp_listen {}: {}", spec.target, e))?,
        )
    } else {
        return Err(format!("bad udp_listen target: {}", spec.target));
    };
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (stop2, recv2) = (stop.clone(), received.clone());
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            if stop2.load(Ordering::SeqCst) {
                return;
            }
            let got = match &sock {
                Sock::Inet(s) => {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                    s.recv_from(&mut buf).map(|(n, a)| (n, Some(a), None))
                }
                Sock::Unix(s) => {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                    // the peer may be autobound (an abstract name, as nginx's cosockets are)
                    s.recv_from(&mut buf).map(|(n, a)| (n, None, Some(a)))
                }
            };
            let Ok((n, inet_peer, unix_peer)) = got else {
                continue;
            };
            recv2.lock().unwrap().extend_from_slice(&buf[..n]);
            sleep_unless_stopped(spec.reply_delay, &stop2);
            for r in &spec.reply {
                match (&sock, &inet_peer, &unix_peer) {
                    (Sock::Inet(s), Some(a), _) => {
                        let _ = s.send_to(r, a);
                    }
                    (Sock::Unix(s), _, Some(p)) => {
                        let _ = s.send_to_addr(r, p);
                    }
                    _ => {}
                }
            }
            return;
        }
    });
    Ok(Mock { stop, received, handle: Some(handle), cleanup })
}
