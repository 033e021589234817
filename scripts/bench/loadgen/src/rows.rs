//! The client side of scripts/bench/issue14.sh's rows that `conn` and `echo` do not cover:
//!
//!   loadgen keepalive ADDR SECONDS CLIENTS   one connection per client, then request/response:
//!                                            send `ping\n`, read one line back, repeat
//!   loadgen line ADDR SECONDS CLIENTS        a new connection per request: send `ping\n`, read
//!                                            one line back, close (a proxy's client)
//!   loadgen burst ADDR CONNS                 open CONNS connections at once (one after the
//!                                            other, from one thread), then read each to EOF;
//!                                            the wall time is from the first connect to the
//!                                            last EOF (and when the last connect returned)
//!   loadgen hold ADDR CONNS SECONDS          open CONNS connections, print `held N`, keep them
//!                                            open for SECONDS (or until killed), close them
//!
//! The timed modes print the same line as `conn`/`echo`:
//! `<mode> <ops> ops in <secs> s, <errors> errors = <rate> ops/s`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `mode` of this file; `args` is the whole command line.
pub fn main(args: &[String]) {
    let mode = args[1].as_str();
    let addr = args[2].clone();
    match mode {
        "keepalive" | "line" => {
            let secs: f64 = args[3].parse().expect("seconds");
            let clients: usize = args[4].parse().expect("clients");
            let keepalive = mode == "keepalive";
            timed(
                mode,
                addr,
                secs,
                clients,
                move |addr, stop| {
                    if keepalive {
                        keepalive_client(addr, stop)
                    } else {
                        line_client(addr)
                    }
                },
            );
        }
        "burst" => burst(&addr, args[3].parse().expect("conns")),
        "hold" => hold(&addr, args[3].parse().expect("conns"), args[4].parse().expect("seconds")),
        _ => unreachable!("main.rs only sends this file's modes"),
    }
}

/// `clients` threads calling `one` until SECONDS are over; `one` returns the operations it
/// completed (keepalive: many per call) or an error (counted once).
fn timed<F>(mode: &str, addr: String, secs: f64, clients: usize, one: F)
where
    F: Fn(&str, &AtomicBool) -> std::io::Result<u64> + Send + Sync + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let one = Arc::new(one);
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, ops, errors, addr, one) = (stop.clone(), ops.clone(), errors.clone(), addr.clone(), one.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match one(&addr, &stop) {
                        Ok(n) => ops.fetch_add(n, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = ops.load(Ordering::Relaxed);
    let e = errors.load(Ordering::Relaxed);
    println!("{mode} {n} ops in {elapsed:.2} s, {e} errors = {:.0} ops/s", n as f64 / elapsed);
}

/// Reads until the buffer ends with a newline (the servers answer one line per request).
fn read_line(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut got = 0;
    loop {
        let n = s.read(&mut buf[got..])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
        if buf[got - 1] == b'\n' {
            return Ok(());
        }
        if got == buf.len() {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

fn keepalive_client(addr: &str, stop: &AtomicBool) -> std::io::Result<u64> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 256];
    let mut done = 0;
    while !stop.load(Ordering::Relaxed) {
        s.write_all(b"ping\n")?;
        read_line(&mut s, &mut buf)?;
        done += 1;
    }
    Ok(done)
}

fn line_client(addr: &str) -> std::io::Result<u64> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"ping\n")?;
    let mut buf = [0u8; 256];
    read_line(&mut s, &mut buf)?;
    Ok(1)
}

/// Prints `burst <ok> ok, <errors> errors, all connected at <ms> ms, in <ms> ms`.
fn burst(addr: &str, conns: usize) {
    let start = Instant::now();
    let mut streams = Vec::with_capacity(conns);
    let mut errors = 0;
    for _ in 0..conns {
        match TcpStream::connect(addr) {
            Ok(s) => streams.push(s),
            Err(_) => errors += 1,
        }
    }
    let connected = start.elapsed().as_secs_f64() * 1000.0;
    let mut ok = 0;
    let mut buf = [0u8; 256];
    for mut s in streams {
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let mut got = 0;
        let r = loop {
            match s.read(&mut buf) {
                Ok(0) => break got > 0,
                Ok(n) => got += n,
                Err(_) => break false,
            }
        };
        if r {
            ok += 1;
        } else {
            errors += 1;
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    println!("burst {ok} ok, {errors} errors, all connected at {connected:.1} ms, in {ms:.1} ms");
}

fn hold(addr: &str, conns: usize, secs: f64) {
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        match TcpStream::connect(addr) {
            Ok(s) => streams.push(s),
            Err(e) => {
                eprintln!("hold: {e}");
                break;
            }
        }
    }
    println!("held {}", streams.len());
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs_f64(secs));
}
