//! Free TCP port selection.  Ports handed out stay reserved inside this process until released,
//! so parallel files never pick the same ones; each candidate is also test-bound.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

static RESERVED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static SEED: AtomicU64 = AtomicU64::new(0);

fn random() -> u64 {
    let mut x = SEED.load(Ordering::Relaxed);
    if x == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        x = t ^ (std::process::id() as u64) << 32 | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    SEED.store(x, Ordering::Relaxed);
    x
}

fn is_free(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Reserves `n` consecutive free ports and returns the first.
pub fn reserve(n: u16) -> Result<u16, String> {
    let mut guard = RESERVED.lock().unwrap();
    let reserved = guard.get_or_insert_with(HashSet::new);
    for _ in 0..2000 {
        let base = 20000 + (random() % 40000) as u16;
        let ports: Vec<u16> = (base..base + n).collect();
        if ports.iter().all(|p| !reserved.contains(p) && is_free(*p)) {
            reserved.extend(ports);
            return Ok(base);
        }
    }
    Err(format!("cannot find {} free consecutive TCP ports", n))
}

pub fn release(base: u16, n: u16) {
    if let Some(r) = RESERVED.lock().unwrap().as_mut() {
        for p in base..base + n {
            r.remove(&p);
        }
    }
}
