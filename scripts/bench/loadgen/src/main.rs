//! A small TCP load generator for the stream benchmarks (std only, one OS thread per
//! concurrent client).
//!
//!   loadgen conn  ADDR SECONDS CLIENTS            new connection per request: connect,
//!                                                  read the whole answer until EOF
//!   loadgen echo  ADDR SECONDS CLIENTS SIZE       keepalive echo: send SIZE bytes, read
//!                                                  SIZE bytes back, repeat
//!   loadgen echo-server ADDR                       a plain echo backend (for nginx's proxy)
//!   loadgen soak  ADDR TOTAL CLIENTS              TOTAL new connections, each sending
//!                                                  `req-N` and expecting `req-N N` back
//!                                                  (scripts/soak.sh's server answers so)
//!   loadgen abuse BASE_PORT WORKER_PID full|quick  abusive clients (abuse.rs, scripts/abuse.sh)
//!
//! Prints one line: `<mode> <ops> ops in <secs> s, <errors> errors = <rate> ops/s`.
//! More modes (keepalive, line, burst, hold: scripts/bench/issue14.sh's rows) are in rows.rs.

mod abuse;
mod rows;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    match mode {
        "echo-server" => echo_server(&args[2]),
        "keepalive" | "line" | "burst" | "hold" => rows::main(&args),
        "abuse" => abuse::main(&args),
        "soak" => {
            let total: u64 = args[3].parse().expect("total");
            let clients: usize = args[4].parse().expect("clients");
            soak(args[2].clone(), total, clients);
        }
        "conn" | "echo" => {
            let addr = args[2].clone();
            let secs: f64 = args[3].parse().expect("seconds");
            let clients: usize = args[4].parse().expect("clients");
            let size: usize = args.get(5).map_or(4096, |s| s.parse().expect("size"));
            run(mode, addr, secs, clients, size);
        }
        _ => {
            eprintln!(
                "usage: loadgen conn|echo ADDR SECONDS CLIENTS [SIZE] | echo-server ADDR | soak ADDR TOTAL CLIENTS"
            );
            std::process::exit(2);
        }
    }
}

fn run(mode: &str, addr: String, secs: f64, clients: usize, size: usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, ops, errors, addr) = (stop.clone(), ops.clone(), errors.clone(), addr.clone());
            let echo = mode == "echo";
            std::thread::spawn(move || {
                if echo {
                    echo_client(&addr, size, &stop, &ops, &errors)
                } else {
                    conn_client(&addr, &stop, &ops, &errors)
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

fn conn_client(addr: &str, stop: &AtomicBool, ops: &AtomicU64, errors: &AtomicU64) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let ok = (|| -> std::io::Result<bool> {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut got = 0;
            loop {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    return Ok(got > 0);
                }
                got += n;
            }
        })();
        match ok {
            Ok(true) => ops.fetch_add(1, Ordering::Relaxed),
            _ => errors.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn echo_client(addr: &str, size: usize, stop: &AtomicBool, ops: &AtomicU64, errors: &AtomicU64) {
    let msg = vec![b'x'; size];
    let mut back = vec![0u8; size];
    while !stop.load(Ordering::Relaxed) {
        let r = (|| -> std::io::Result<()> {
            let mut s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            while !stop.load(Ordering::Relaxed) {
                s.write_all(&msg)?;
                s.read_exact(&mut back)?;
                ops.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })();
        if r.is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn echo_server(addr: &str) {
    let l = TcpListener::bind(addr).expect("bind");
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        std::thread::spawn(move || {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 16384];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Connections numbered from one counter until `total` are taken; each answer is checked.
/// Prints `soak <ok> ok, <errors> errors, <wrong> wrong answers in <secs> s = <rate> conn/s`.
fn soak(addr: String, total: u64, clients: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (next, ok, errors, wrong, addr) =
                (next.clone(), ok.clone(), errors.clone(), wrong.clone(), addr.clone());
            std::thread::spawn(move || loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id >= total {
                    return;
                }
                let answer = (|| -> std::io::Result<Vec<u8>> {
                    let mut s = TcpStream::connect(&addr)?;
                    s.set_read_timeout(Some(Duration::from_secs(10)))?;
                    s.write_all(format!("req-{id}\n").as_bytes())?;
                    let mut got = Vec::new();
                    s.read_to_end(&mut got)?;
                    Ok(got)
                })();
                match answer {
                    Ok(got) if got == format!("req-{id} {id}\n").as_bytes() => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => wrong.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let secs = start.elapsed().as_secs_f64();
    let (n, e, w) = (ok.load(Ordering::Relaxed), errors.load(Ordering::Relaxed), wrong.load(Ordering::Relaxed));
    println!("soak {n} ok, {e} errors, {w} wrong answers in {secs:.1} s = {:.0} conn/s", n as f64 / secs);
}
