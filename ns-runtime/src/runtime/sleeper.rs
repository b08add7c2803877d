//! A runtime thread asleep, as pools and the runtime know it, and what woke it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sync::{self, Mutex, Parker};

/// A runtime thread asleep, as pools and the runtime know it: a flag and the
/// thread's park token.
///
/// The flag, not the token, says whether it was woken: a token may also come
/// from elsewhere (a latch set late for a call the thread made from a body), and
/// a wake-up may come while the sleeper is still on its way to sleep; either way
/// the flag decides. The flag is under a mutex that nobody holds for long, so
/// that the lock alone orders the waker's store before the sleeper's check. A
/// condition variable would make the woken thread take that lock again on its
/// way out of the kernel, and woke it more slowly on the virtual machines
/// measured than the park token.
#[derive(Clone)]
pub(crate) struct Sleeper(Arc<SleeperInner>);

struct SleeperInner {
    /// When it was woken, if it was.
    woken: Mutex<Option<Woken>>,
    /// The sleeping thread (the one that made the sleeper).
    parker: Parker,
}

impl Sleeper {
    /// A sleeper for the calling thread.
    pub(crate) fn new() -> Sleeper {
        Sleeper(Arc::new(SleeperInner {
            woken: Mutex::new(None),
            parker: Parker::current(),
        }))
    }

    pub(crate) fn is(&self, other: &Sleeper) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn wake(&self) {
        let woken = Woken {
            at: Instant::now(),
            cpu: super::cpu::current(),
        };
        *sync::lock(&self.0.woken) = Some(woken);
        self.0.parker.unpark();
    }

    /// Sleeps until woken (also by a wake-up that came before) or `timeout`
    /// (loom has no time: until woken, unless the timeout is zero). Called by the
    /// thread that made the sleeper. Returns how it was woken; `None`: the
    /// timeout ran out.
    pub(crate) fn park(&self, timeout: Duration) -> Option<Woken> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(woken) = sync::lock(&self.0.woken).take() {
                return Some(woken);
            }
            // (Under loom, only a zero timeout ends the wait: wall-clock time
            // would make the model's executions differ from one another.)
            let left = if cfg!(loom) {
                timeout
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            if left.is_zero() {
                return None;
            }
            self.0.parker.park_timeout(left);
        }
    }
}

/// When a sleeper was woken, and on which CPU its waker ran: for a sleeper
/// woken for a call, when the call came and where its caller runs (see
/// `cadence.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Woken {
    pub(crate) at: Instant,
    pub(crate) cpu: Option<usize>,
}
