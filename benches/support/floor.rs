//! The floors every latency is held against, shared by the benches: the trivial
//! work each mechanism runs, and two threads handing a call through one atomic
//! slot.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The trivial work every mechanism runs.
#[inline(never)]
pub(crate) fn work(x: u64) -> u64 {
    black_box(x).wrapping_mul(3).wrapping_add(1)
}

/// The floor of any cross-thread call: a server thread spinning on one slot, the
/// caller spinning on the answer (one cache line to the server and back).
/// `park`: both sides park instead of spinning (the floor of a call that wakes
/// a sleeping thread). A spinning server spins only while it is [`Floor::active`]:
/// otherwise it would take a CPU from whatever is measured beside it.
pub(crate) struct Floor {
    /// 0: empty; odd: a request (x * 2 + 1); even > 0: an answer (y * 2 + 2).
    slot: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicBool>,
    /// 1 + the caller's CPU, when the caller asks the server to leave that CPU if
    /// it runs there; 0 once it has looked.
    apart: Arc<AtomicUsize>,
    server: Option<thread::JoinHandle<()>>,
    park: bool,
}

impl Floor {
    /// A floor whose server is active from the start.
    pub(crate) fn new(park: bool) -> Floor {
        let slot = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicBool::new(true));
        let apart = Arc::new(AtomicUsize::new(0));
        let (server_slot, server_stop, server_active, server_apart) = (
            Arc::clone(&slot),
            Arc::clone(&stop),
            Arc::clone(&active),
            Arc::clone(&apart),
        );
        let caller = thread::current();
        let server = thread::spawn(move || {
            while !server_stop.load(Ordering::Relaxed) {
                let v = server_slot.load(Ordering::Acquire);
                if v % 2 == 1 {
                    server_slot.store(work(v / 2) * 2 + 2, Ordering::Release);
                    if park {
                        caller.unpark();
                    }
                } else if park || !server_active.load(Ordering::Relaxed) {
                    thread::park_timeout(Duration::from_millis(10));
                } else if server_apart.load(Ordering::Relaxed) != 0 {
                    leave_cpu(server_apart.load(Ordering::Relaxed) - 1);
                    server_apart.store(0, Ordering::Release);
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let floor = Floor {
            slot,
            stop,
            active,
            apart,
            server: Some(server),
            park,
        };
        floor.keep_apart();
        floor
    }

    /// Lets the server spin (`true`) or sleep between calls (`false`).
    #[allow(dead_code)] // (not every bench pauses its floor)
    pub(crate) fn active(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
        if let Some(server) = &self.server {
            server.thread().unpark();
        }
        if active {
            self.keep_apart();
        }
    }

    /// Has a spinning server leave the caller's CPU if it runs there: woken while
    /// the other CPUs are busy, it may be put there and left there for about
    /// 10 ms, and the floor would then be the cost of a yield (about 1.5 µs). The
    /// runtime's threads do the same (`ns-runtime/src/runtime/cpu.rs`).
    fn keep_apart(&self) {
        if self.park {
            return;
        }
        let Some(mine) = this_cpu() else { return };
        self.apart.store(mine + 1, Ordering::Relaxed);
        // (Not forever: a server that died would never look.)
        let asked = std::time::Instant::now();
        while self.apart.load(Ordering::Acquire) != 0 && asked.elapsed() < Duration::from_secs(1) {
            thread::yield_now();
        }
    }

    /// One round trip (call it from the thread that made the floor).
    pub(crate) fn call(&self, x: u64) -> u64 {
        self.slot.store(x * 2 + 1, Ordering::Release);
        if self.park {
            if let Some(server) = &self.server {
                server.thread().unpark();
            }
        }
        loop {
            let v = self.slot.load(Ordering::Acquire);
            if v != 0 && v.is_multiple_of(2) {
                self.slot.store(0, Ordering::Relaxed);
                return v / 2 - 1;
            }
            if self.park {
                thread::park_timeout(Duration::from_millis(10));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

fn this_cpu() -> Option<usize> {
    // SAFETY: no arguments, no memory touched.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// Moves the calling thread off `cpu` if it runs there, its CPU set unchanged.
fn leave_cpu(cpu: usize) {
    use nix::sched::{sched_getaffinity, sched_setaffinity};
    let me = nix::unistd::Pid::from_raw(0);
    if this_cpu() != Some(cpu) {
        return;
    }
    if let Ok(allowed) = sched_getaffinity(me) {
        let mut elsewhere = allowed;
        if elsewhere.unset(cpu).is_ok() && sched_setaffinity(me, &elsewhere).is_ok() {
            let _ = sched_setaffinity(me, &allowed);
        }
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(server) = self.server.take() {
            server.thread().unpark();
            let _ = server.join();
        }
    }
}
