//! `loadgen abuse BASE_PORT WORKER_PID full|quick [WORKLOAD...]` (issue 15, item 4): the
//! abusive-client workloads against one nginx worker, each with well-behaved clients running
//! alongside, and the worker's fd count and RSS read from /proc before and after.
//!
//! The servers are scripts/abuse.sh's: BASE line server (receive("*l") with short timeouts and
//! a patience of 50 of them; `GC` runs a full Lua GC, `REST` reads to EOF), BASE+1 big answers
//! (the request line is a byte count), BASE+2 a cosocket pool front (`live`, `mute`, `rude`
//! pick the backend), BASE+3 a UDP echo, BASE+4 a line server with a 60 s read timeout (the
//! idle connections and the pool's live backend). The mute and rude backends are threads here,
//! on BASE+5 and BASE+6.
//!
//! Every workload runs first as a warm-up, ABUSE_WARMUPS rounds of them (default 5: the first
//! use of connection slots, buffers, JIT traces and pool entries grows the worker, and the
//! allocators' fragmentation settles over several rounds; a leak keeps growing after), then
//! measured. Before each reading the fds are back at their start count and the server has run
//! a full Lua GC and malloc_trim(0) (memory in use, not the allocator's cache; `raw1` is the
//! RSS after the workload without either). Prints one table row per workload; exits 1 when a
//! well-behaved client got a wrong or no answer, an abusive client saw something the server
//! must not do, the fds did not come back, RSS ended more than 5% above the highest quiet
//! reading before it (`high %`; `RSS %` is against the reading just before: it swings several
//! percent either way after 10,000 idle sessions in both engines), or the worker changed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The workloads in the order they run.
const WORKLOADS: &[&str] =
    &["slowloris", "reset-request", "reset-response", "half-close", "long-lines", "idle", "udp-flood", "dead-backends"];

struct Ctx {
    base: u16,
    pid: u32,
    quick: bool,
}

impl Ctx {
    fn addr(&self, off: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.base + off))
    }
    /// The slowloris client's delay between bytes (the server's timeout is a fifth of it).
    fn byte_delay(&self) -> Duration {
        Duration::from_millis(if self.quick { 200 } else { 1000 })
    }
    fn scale(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

pub fn main(args: &[String]) {
    let base: u16 = args[2].parse().expect("base port");
    let pid: u32 = args[3].parse().expect("worker pid");
    let quick = args.get(4).map(String::as_str) == Some("quick");
    let picked: Vec<&str> =
        if args.len() > 5 { args[5..].iter().map(String::as_str).collect() } else { WORKLOADS.to_vec() };
    let ctx = Ctx { base, pid, quick };
    let settle_for = Duration::from_secs(if quick { 8 } else { 15 });
    let start_rss = rss(pid);
    let t0 = Instant::now();
    let warmups: usize = std::env::var("ABUSE_WARMUPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let (start_fds, _) = quiet_reading(&ctx, None, settle_for);
    let mut high = 0;
    for round in 1..=warmups {
        let mut line = format!("warm-up {round}, abusive clients as expected:");
        for w in &picked {
            let (ok, all) = run_abuse(&ctx, w);
            line += &format!(" {w} {ok}/{all}");
        }
        let (_, r) = quiet_reading(&ctx, Some(start_fds), settle_for);
        high = high.max(r);
        println!("{line}; RSS {r} KB");
    }
    println!(
        "worker {pid}: RSS {start_rss} KB at start, {high} KB the highest after {warmups} warm-up rounds ({:.0} s)",
        t0.elapsed().as_secs_f64()
    );
    println!(
        "{:<15} {:>13} {:>13} {:>5} {:>5} {:>9} {:>9} {:>9} {:>6} {:>6}",
        "workload", "abusive ok", "good ok", "fds0", "fds1", "RSS0 KB", "raw1 KB", "RSS1 KB", "RSS %", "high %"
    );
    let mut failed = false;
    for w in &picked {
        failed |= !measured(&ctx, w, &mut high, settle_for);
    }
    println!("total {:.0} s", t0.elapsed().as_secs_f64());
    if failed {
        std::process::exit(1);
    }
}

/// One measured run of workload `w`; prints its row and says whether every check held.
/// `high` is the highest quiet RSS so far: the one a workload must not pass by more than 5%
/// (single readings of the same state swing several percent either way with the allocators'
/// fragmentation, in both engines; a leak moves the high-water mark).
fn measured(ctx: &Ctx, w: &str, high: &mut u64, settle_for: Duration) -> bool {
    let (fds0, rss0) = quiet_reading(ctx, None, settle_for);
    *high = (*high).max(rss0);
    let stop = Arc::new(AtomicBool::new(false));
    let good = Arc::new(Counts::default());
    let mut helpers: Vec<thread::JoinHandle<()>> = (0..2)
        .map(|i| {
            let (stop, good, addr) = (stop.clone(), good.clone(), ctx.addr(0));
            thread::spawn(move || good_line_client(addr, i, &stop, &good))
        })
        .collect();
    if w == "dead-backends" {
        let (stop, good, addr) = (stop.clone(), good.clone(), ctx.addr(2));
        helpers.push(thread::spawn(move || good_pool_client(addr, &stop, &good)));
    }
    if w == "udp-flood" {
        let (stop, good, addr) = (stop.clone(), good.clone(), ctx.addr(3));
        helpers.push(thread::spawn(move || good_udp_client(addr, &stop, &good)));
    }
    let (abusive_ok, abusive_all) = run_abuse(ctx, w);
    // the well-behaved clients keep going a little past the abuse, then stop
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for h in helpers {
        let _ = h.join();
    }
    wait_fds(ctx.pid, fds0, settle_for);
    let raw1 = rss(ctx.pid);
    let (fds1, rss1) = quiet_reading(ctx, Some(fds0), settle_for);
    let pct = (rss1 as f64 - rss0 as f64) * 100.0 / rss0.max(1) as f64;
    let over_high = (rss1 as f64 - *high as f64) * 100.0 / (*high).max(1) as f64;
    *high = (*high).max(rss1);
    let (gok, gall) = (good.ok.load(Ordering::Relaxed), good.all.load(Ordering::Relaxed));
    println!(
        "{:<15} {:>13} {:>13} {:>5} {:>5} {:>9} {:>9} {:>9} {:>+6.1} {:>+6.1}",
        w,
        format!("{abusive_ok}/{abusive_all}"),
        format!("{gok}/{gall}"),
        fds0,
        fds1,
        rss0,
        raw1,
        rss1,
        pct,
        over_high
    );
    let mut ok = true;
    let mut fail = |why: String| {
        println!("  FAIL {w}: {why}");
        ok = false;
    };
    if gall == 0 || gok != gall {
        fail(format!("well-behaved clients: {gok} of {gall} answered right"));
    }
    if abusive_ok != abusive_all {
        fail(format!("abusive clients: {abusive_ok} of {abusive_all} saw what they should"));
    }
    if fds1 != fds0 {
        fail(format!("worker fds {fds0} before, {fds1} after"));
    }
    if over_high > 5.0 {
        fail(format!("RSS {over_high:.1}% over its highest quiet reading before"));
    }
    if !alive(ctx.pid) {
        fail("the worker is gone".into());
    }
    ok
}

/// Waits until the worker holds no more than `target` fds (at most `limit`), asks for a full
/// Lua GC, waits again, then reads (fds, RSS KB). Without a target, the count after the GC
/// conversation has ended is the target.
fn quiet_reading(ctx: &Ctx, target: Option<usize>, limit: Duration) -> (usize, u64) {
    if let Some(t) = target {
        wait_fds(ctx.pid, t, limit);
    }
    let before_gc = fds(ctx.pid);
    let _ = ask_line(ctx.addr(0), b"GC\n");
    // the GC session ends when it reads our close: back to the count before it
    wait_fds(ctx.pid, target.unwrap_or(before_gc).min(before_gc), Duration::from_secs(2));
    thread::sleep(Duration::from_millis(100));
    (fds(ctx.pid), rss(ctx.pid))
}

fn wait_fds(pid: u32, target: usize, limit: Duration) {
    let until = Instant::now() + limit;
    while fds(pid) > target && Instant::now() < until {
        thread::sleep(Duration::from_millis(50));
    }
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    all: AtomicU64,
}

impl Counts {
    fn add(&self, ok: bool) {
        self.all.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.ok.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(s)
}

/// Reads one line (without the newline); EOF before the newline is an error.
fn read_line(s: &mut TcpStream) -> io::Result<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if s.read(&mut b)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if b[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        out.push(b[0]);
    }
}

fn ask_line(addr: SocketAddr, req: &[u8]) -> io::Result<String> {
    let mut s = connect(addr)?;
    s.write_all(req)?;
    read_line(&mut s)
}

/// The line servers' answer to a line.
fn line_answer(line: &str) -> String {
    format!("ok {} {}", line.len(), &line[..line.len().min(16)])
}

/// Closes `s` with an RST: SO_LINGER on with a zero timeout, then close.
fn reset(s: TcpStream) {
    #[repr(C)]
    struct Linger {
        onoff: i32,
        linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1; // Linux
    const SO_LINGER: i32 = 13; // Linux
    let l = Linger { onoff: 1, linger: 0 };
    // SAFETY: setsockopt on an fd `s` owns, with a pointer to a live linger struct and its size.
    unsafe { setsockopt(s.as_raw_fd(), SOL_SOCKET, SO_LINGER, &l, std::mem::size_of::<Linger>() as u32) };
    drop(s);
}

fn good_line_client(addr: SocketAddr, i: usize, stop: &AtomicBool, good: &Counts) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let line = format!("good-{i}-{n}");
        let got = ask_line(addr, format!("{line}\n").as_bytes());
        good.add(matches!(got, Ok(ref a) if *a == line_answer(&line)));
        thread::sleep(Duration::from_millis(2));
    }
}

fn good_pool_client(addr: SocketAddr, stop: &AtomicBool, good: &Counts) {
    while !stop.load(Ordering::Relaxed) {
        let got = ask_line(addr, b"live\n");
        good.add(matches!(got, Ok(ref a) if a == "backend live: ok 1 q"));
        thread::sleep(Duration::from_millis(5));
    }
}

/// One datagram, one answer, on a fresh socket each time; retried (UDP may drop under a flood).
fn good_udp_client(addr: SocketAddr, stop: &AtomicBool, good: &Counts) {
    let mut n = 0u64;
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let msg = format!("good-udp-{n}");
        let mut answered = false;
        for _ in 0..10 {
            let Ok(u) = UdpSocket::bind("127.0.0.1:0") else { continue };
            let _ = u.set_read_timeout(Some(Duration::from_millis(300)));
            if u.send_to(msg.as_bytes(), addr).is_err() {
                continue;
            }
            if let Ok(k) = u.recv(&mut buf) {
                answered = buf[..k] == *format!("u {msg}").as_bytes();
                break;
            }
        }
        good.add(answered);
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `clients` copies of `f` on `threads` threads; returns (true results, all).
fn fan_out(clients: usize, threads: usize, f: impl Fn(usize) -> bool + Send + Sync + 'static) -> (usize, usize) {
    let f = Arc::new(f);
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (f, next, ok) = (f.clone(), next.clone(), ok.clone());
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= clients {
                    return;
                }
                if f(i) {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in hs {
        let _ = h.join();
    }
    (ok.load(Ordering::Relaxed) as usize, clients)
}

/// Runs one abusive workload; returns how many abusive clients saw what they should, of all.
fn run_abuse(ctx: &Ctx, w: &str) -> (usize, usize) {
    match w {
        "slowloris" => slowloris(ctx),
        "reset-request" => {
            let addr = ctx.addr(0);
            fan_out(ctx.scale(1000, 300), 8, move |_| match connect(addr) {
                Ok(mut s) => {
                    let sent = s.write_all(b"half a li").is_ok();
                    thread::sleep(Duration::from_millis(5));
                    reset(s);
                    sent
                }
                Err(_) => false,
            })
        }
        "reset-response" => {
            let addr = ctx.addr(1);
            fan_out(ctx.scale(200, 50), 8, move |_| {
                let Ok(mut s) = connect(addr) else { return false };
                if s.write_all(b"4000000\n").is_err() {
                    return false;
                }
                let mut got = vec![0u8; 1000];
                let ok = s.read_exact(&mut got).is_ok() && got.iter().all(|&b| b == b'x');
                reset(s);
                ok
            })
        }
        "half-close" => {
            let addr = ctx.addr(0);
            fan_out(ctx.scale(1000, 300), 8, move |i| {
                let Ok(mut s) = connect(addr) else { return false };
                let rest = vec![b'r'; 10_000 + i % 100];
                let sent = s.write_all(b"REST\n").is_ok() && s.write_all(&rest).is_ok();
                if !sent || s.shutdown(Shutdown::Write).is_err() {
                    return false;
                }
                let mut got = String::new();
                s.read_to_string(&mut got).is_ok() && got == format!("rest {}\n", rest.len())
            })
        }
        "long-lines" => {
            let addr = ctx.addr(0);
            fan_out(ctx.scale(200, 50), 8, move |i| {
                let line = format!("{i:08}{}", "L".repeat(40_000 + i));
                ask_line(addr, format!("{line}\n").as_bytes()).is_ok_and(|a| a == line_answer(&line))
            })
        }
        "idle" => idle(ctx),
        "udp-flood" => udp_flood(ctx),
        "dead-backends" => dead_backends(ctx),
        other => {
            eprintln!("abuse: no workload {other:?} (one of {WORKLOADS:?})");
            std::process::exit(2);
        }
    }
}

/// One byte per delay against receive("*l") with a timeout of a fifth of it: patient lines
/// (7 bytes) are answered whole; lines of 16 bytes outlast the server's patience (50
/// timeouts) and get `too slow` (or the close, when a byte crossed it).
fn slowloris(ctx: &Ctx) -> (usize, usize) {
    let delay = ctx.byte_delay();
    let addr = ctx.addr(0);
    let patient = ctx.scale(20, 10);
    fan_out(patient + 5, patient + 5, move |i| {
        let Ok(mut s) = connect(addr) else { return false };
        let too_slow = i >= patient;
        let line = if too_slow { format!("too-slow-{i:06}") } else { format!("slow-{i:02}") };
        let req = format!("{line}\n");
        for (k, b) in req.bytes().enumerate() {
            if k > 0 {
                thread::sleep(delay);
            }
            // the server may have given up: stop sending once its answer is there
            let _ = s.set_nonblocking(true);
            let mut peek = [0u8; 1];
            let waiting = s.peek(&mut peek).is_ok_and(|n| n > 0);
            let _ = s.set_nonblocking(false);
            if waiting || s.write_all(&[b]).is_err() {
                break;
            }
        }
        let got = read_line(&mut s);
        if too_slow {
            match got {
                Ok(a) => a == "too slow",
                Err(e) => matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof),
            }
        } else {
            matches!(got, Ok(a) if a == line_answer(&line))
        }
    })
}

/// N connections that send nothing, held while the well-behaved clients run; then a line on
/// every 100th (the parked sessions still answer), then all closed.
fn idle(ctx: &Ctx) -> (usize, usize) {
    let n = ctx.scale(10_000, 2_000);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        match connect(ctx.addr(4)) {
            Ok(s) => conns.push(s),
            Err(e) => {
                println!("  idle: connection {} failed: {e}", conns.len() + 1);
                break;
            }
        }
    }
    thread::sleep(Duration::from_secs(if ctx.quick { 1 } else { 2 }));
    let mut ok = 0;
    let mut all = 0;
    for (i, s) in conns.iter_mut().enumerate().step_by(100) {
        all += 1;
        let line = format!("idle-{i}");
        if s.write_all(format!("{line}\n").as_bytes()).is_ok()
            && matches!(read_line(s), Ok(a) if a == line_answer(&line))
        {
            ok += 1;
        }
    }
    // the ones that failed to open count as abusive clients that saw the wrong thing
    let missing = n - conns.len();
    drop(conns);
    (ok, all + missing)
}

/// Datagrams as fast as four sockets can send them; nothing read back.
fn udp_flood(ctx: &Ctx) -> (usize, usize) {
    let addr = ctx.addr(3);
    let per = ctx.scale(50_000, 10_000) / 4;
    let (sent, _) = fan_out(4, 4, move |_| {
        let Ok(u) = UdpSocket::bind("127.0.0.1:0") else { return false };
        let msg = [b'f'; 100];
        let mut n = 0;
        for _ in 0..per {
            if u.send_to(&msg, addr).is_ok() {
                n += 1;
            }
        }
        n == per
    });
    (sent, 4)
}

/// A mute backend (accepts, never answers) and a rude one (accepts, resets) behind the
/// front's cosocket pool (size 5, backlog 100, 300 ms timeouts): every caller gets
/// `backend KIND: err`, none hangs.
fn dead_backends(ctx: &Ctx) -> (usize, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let mute = backend(ctx.addr(5), stop.clone(), false);
    let rude = backend(ctx.addr(6), stop.clone(), true);
    let addr = ctx.addr(2);
    let n = ctx.scale(40, 20);
    let r = fan_out(2 * n, 2 * n, move |i| {
        let kind = if i % 2 == 0 { "mute" } else { "rude" };
        matches!(ask_line(addr, format!("{kind}\n").as_bytes()), Ok(a) if a == format!("backend {kind}: err"))
    });
    stop.store(true, Ordering::Relaxed);
    let _ = mute.join();
    let _ = rude.join();
    r
}

/// A backend thread: accepts until `stop`; holds every connection open (mute) or resets it
/// at once (rude). Mute connections close when the thread ends.
fn backend(addr: SocketAddr, stop: Arc<AtomicBool>, rude: bool) -> thread::JoinHandle<()> {
    let l = TcpListener::bind(addr).expect("bind a backend port");
    l.set_nonblocking(true).expect("nonblocking listener");
    thread::spawn(move || {
        let mut held = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) if rude => reset(s),
                Ok((s, _)) => held.push(s),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}
