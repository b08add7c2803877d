//! A one-shot latch: the caller spins briefly, then parks; the namespace thread sets
//! it and wakes the caller only if the caller went to sleep.

use std::sync::atomic::Ordering;

use super::sync::{park_timeout, thread, AtomicBool, AtomicU32, Thread};
use std::time::{Duration, Instant};

const UNSET: u32 = 0;
const SLEEPING: u32 = 1;
const SET: u32 = 2;

pub(crate) struct Latch {
    state: AtomicU32,
    /// Set when a thread takes the job: the owner then knows it need not start one.
    taken: AtomicBool,
    owner: Thread,
}

impl Latch {
    /// A latch owned (waited on) by the calling thread.
    pub(crate) fn new() -> Latch {
        Latch {
            state: AtomicU32::new(UNSET),
            taken: AtomicBool::new(false),
            owner: thread::current(),
        }
    }

    pub(crate) fn mark_taken(&self) {
        self.taken.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_taken(&self) -> bool {
        self.taken.load(Ordering::Relaxed)
    }

    /// Spins (then yields) for up to `budget`; whether the latch was set meanwhile.
    pub(crate) fn spin(&self, budget: Duration) -> bool {
        spin_until(budget, || self.state.load(Ordering::Acquire) == SET)
    }

    /// Blocks the owner until the latch is set: parks (after any spinning the
    /// caller did with [`Latch::spin`]).
    pub(crate) fn wait(&self) {
        // UNSET → SLEEPING; if that fails the state is SET, or already SLEEPING
        // (after `wait_for`): either way only SET ends the wait.
        let _ = self
            .state
            .compare_exchange(UNSET, SLEEPING, Ordering::Acquire, Ordering::Acquire);
        // `park` can return spuriously.
        while self.state.load(Ordering::Acquire) != SET {
            thread::park();
        }
    }

    /// Parks for up to about `timeout`; whether the latch is set.
    pub(crate) fn wait_for(&self, timeout: Duration) -> bool {
        // Once SLEEPING, the setter will unpark us; staying SLEEPING across calls
        // only costs it one unpark.
        let _ = self
            .state
            .compare_exchange(UNSET, SLEEPING, Ordering::Acquire, Ordering::Acquire);
        if self.state.load(Ordering::Acquire) == SET {
            return true;
        }
        park_timeout(timeout);
        self.state.load(Ordering::Acquire) == SET
    }

    /// Sets the latch, waking its owner if it sleeps.
    ///
    /// # Safety
    /// `this` must point to a live latch. The owner may free it as soon as the state
    /// becomes SET, so nothing here touches `*this` after the swap.
    pub(crate) unsafe fn set(this: *const Latch) {
        // SAFETY: `this` is alive until the swap below (the function's contract).
        let latch = unsafe { &*this };
        // Cloned before the swap: after it, `latch` may be gone.
        let owner = latch.owner.clone();
        if latch.state.swap(SET, Ordering::AcqRel) == SLEEPING {
            owner.unpark();
        }
    }
}

/// Polls `done` for up to `budget`: a few rounds of pure spinning (a hand-off that is
/// already under way finishes within them), then yielding, so that on a machine with
/// fewer cores than busy threads the thread we wait for gets to run. Returns whether
/// `done` became true.
pub(crate) fn spin_until(budget: Duration, mut done: impl FnMut() -> bool) -> bool {
    const PURE_SPINS: u32 = 64;
    if budget.is_zero() {
        return done();
    }
    for _ in 0..PURE_SPINS {
        if done() {
            return true;
        }
        std::hint::spin_loop();
    }
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= budget {
            return false;
        }
        thread::yield_now();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn wait_returns_after_set_from_another_thread_with_and_without_spin() {
        for spin in [Duration::ZERO, Duration::from_micros(50)] {
            let latch = Arc::new(Latch::new());
            let setter = {
                let latch = Arc::clone(&latch);
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(5));
                    // SAFETY: the Arc keeps the latch alive.
                    unsafe { Latch::set(&*latch) };
                })
            };
            if !latch.spin(spin) {
                latch.wait();
            }
            assert_eq!(latch.state.load(Ordering::Acquire), SET);
            setter.join().unwrap();
        }
    }

    #[test]
    fn spin_until_reports_whether_the_condition_held() {
        assert!(spin_until(Duration::ZERO, || true));
        assert!(!spin_until(Duration::from_micros(10), || false));
        let mut n = 0;
        assert!(spin_until(Duration::from_secs(1), || {
            n += 1;
            n > 100
        }));
    }
}
