//! Abusive clients (issue 15): sections that make the stream client misbehave on purpose.
//! They apply to the block's first conversation only, so a later server's request
//! (`stream_server_config2` / `stream_request2`) is a well-behaved client in the same run,
//! whose answer shows the worker is still serving.
//!
//! * `--- stream_request_trickle: 0.3` sends the request one byte at a time, 0.3 s apart
//!   (slowloris). A send error stops the sending; the client still reads the answer.
//! * `--- stream_request_reset` closes the connection with an RST (SO_LINGER 0) right after
//!   sending the request, without reading anything (reset mid-request).
//! * `--- stream_response_reset_after: N` reads N bytes of the answer, then closes with an RST
//!   (reset mid-response). The output is the N bytes.
//! * `--- stream_idle_connections: N` opens N connections to the first server before the
//!   conversations, sends nothing on them, and closes them after the last conversation.

use crate::plan::SectionView;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The section names this module reads.
pub const SECTIONS: &[&str] =
    &["stream_request_trickle", "stream_request_reset", "stream_response_reset_after", "stream_idle_connections"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Abuse {
    pub trickle: Option<Duration>,
    pub reset_after_request: bool,
    pub reset_after_bytes: Option<usize>,
    pub idle_connections: usize,
}

impl Abuse {
    pub fn is_none(&self) -> bool {
        *self == Abuse::default()
    }
}

fn count(sec: &SectionView, name: &str) -> Result<Option<usize>, String> {
    match sec.text(name) {
        None => Ok(None),
        Some(t) => String::from_utf8_lossy(&t)
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| format!("--- {}: expected a whole number", name)),
    }
}

/// Reads the sections of one block.
pub fn parse(sec: &SectionView) -> Result<Abuse, String> {
    Ok(Abuse {
        trickle: sec.seconds("stream_request_trickle")?.map(Duration::from_secs_f64),
        reset_after_request: sec.map.contains_key("stream_request_reset"),
        reset_after_bytes: count(sec, "stream_response_reset_after")?,
        idle_connections: count(sec, "stream_idle_connections")?.unwrap_or(0),
    })
}

/// Sends `req` one byte per `delay`; stops at the first error (the server may give up first)
/// and returns it.
pub fn trickle(s: &mut TcpStream, req: &[u8], delay: Duration, deadline: Instant) -> io::Result<()> {
    for (i, b) in req.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(delay.min(deadline.saturating_duration_since(Instant::now())));
        }
        s.write_all(std::slice::from_ref(b))?;
    }
    Ok(())
}

/// Closes `s` with an RST instead of a FIN: SO_LINGER on with a zero timeout, then close.
pub fn reset(s: TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a valid, owned socket fd with a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(s);
}

/// Reads up to `n` bytes (less if the server closes first or the deadline passes).
pub fn read_n(s: &mut TcpStream, n: usize, deadline: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    while out.len() < n {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let _ = s.set_read_timeout(Some(deadline - now));
        let want = (n - out.len()).min(chunk.len());
        match s.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&chunk[..k]),
        }
    }
    out
}

/// Opens `n` idle connections to `port` (they stay open until the vector is dropped).
pub fn open_idle(port: u16, n: usize) -> io::Result<Vec<TcpStream>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    (0..n).map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(5))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    }

    #[test]
    fn trickle_sends_every_byte_with_delays() {
        let (mut c, mut s) = pair();
        let t0 = Instant::now();
        trickle(&mut c, b"abc", Duration::from_millis(50), t0 + Duration::from_secs(5)).unwrap();
        drop(c);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abc");
        assert!(t0.elapsed() >= Duration::from_millis(100), "{:?}", t0.elapsed());
    }

    #[test]
    fn reset_makes_the_peer_see_a_reset() {
        let (c, mut s) = pair();
        reset(c);
        let mut buf = [0u8; 8];
        let e = s.read(&mut buf).expect_err("an RST, not a FIN");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn read_n_stops_at_n() {
        let (mut c, mut s) = pair();
        s.write_all(b"0123456789").unwrap();
        assert_eq!(read_n(&mut c, 4, Instant::now() + Duration::from_secs(5)), b"0123");
    }

    #[test]
    fn idle_connections_are_accepted_and_held() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let idle = open_idle(l.local_addr().unwrap().port(), 20).unwrap();
        for _ in 0..20 {
            l.accept().unwrap();
        }
        assert_eq!(idle.len(), 20);
    }
}
