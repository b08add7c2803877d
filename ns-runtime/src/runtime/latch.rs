//! A one-shot latch: the caller spins briefly, then parks; the runtime thread sets
//! it and wakes the caller only if the caller went to sleep.
//!
//! Nothing here touches shared memory but the latch itself while the caller spins:
//! the caller's `Thread` (a reference count) is taken only when it goes to sleep,
//! and read by the setter only then.

use std::cell::UnsafeCell;
use std::sync::atomic::Ordering;

use super::sync::{thread, AtomicBool, AtomicU32, Parker};
use std::time::{Duration, Instant};

/// See [`Latch::spin_for_answer`].
pub(crate) const TAKEN_SPIN_FACTOR: u32 = 10;

const UNSET: u32 = 0;
const SLEEPING: u32 = 1;
const SET: u32 = 2;

pub(crate) struct Latch {
    state: AtomicU32,
    /// Set when a thread takes the job: the owner then knows it need not start one.
    taken: AtomicBool,
    /// The owner, written by the owner before it first goes SLEEPING and read by
    /// the setter only after it saw SLEEPING.
    owner: UnsafeCell<Option<Parker>>,
}

// SAFETY: `owner` is written only by the owning thread while the state is UNSET
// (before the one UNSET -> SLEEPING transition, which publishes it with Release),
// and read by the setter only after it observed SLEEPING (Acquire); every other
// field is atomic.
unsafe impl Sync for Latch {}

impl Latch {
    /// A latch owned (waited on) by the calling thread.
    pub(crate) fn new() -> Latch {
        Latch {
            state: AtomicU32::new(UNSET),
            taken: AtomicBool::new(false),
            owner: UnsafeCell::new(None),
        }
    }

    /// UNSET -> SLEEPING, publishing the owner first. Leaves SET and SLEEPING as
    /// they are: either way only SET ends a wait, and a SLEEPING owner is woken.
    /// Returns how the owner parks.
    fn announce_sleep(&self) -> Parker {
        // SAFETY: a shared read; the setter only ever reads `owner` too.
        if let Some(parker) = unsafe { &*self.owner.get() } {
            return parker.clone(); // announced before
        }
        let parker = Parker::current();
        // SAFETY: `owner` is still None, so the state is not SLEEPING and the
        // setter does not read it (see the Sync impl); only the owner writes it.
        unsafe { *self.owner.get() = Some(parker.clone()) };
        let _ = self
            .state
            .compare_exchange(UNSET, SLEEPING, Ordering::AcqRel, Ordering::Acquire);
        parker
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

    /// Spins for the answer to a job handed to a thread: up to `budget`, and on
    /// while the job is running, up to [`TAKEN_SPIN_FACTOR`] times as long.
    ///
    /// Why on: when the caller and the thread share a CPU (the scheduler puts a
    /// woken thread beside its waker), the hand-off goes through yields and takes
    /// a few microseconds. A caller that parked then would be woken by the thread,
    /// and placed beside it again: the pair would never be spread over two CPUs.
    /// Spinning while the job runs lets the load balancer separate them.
    pub(crate) fn spin_for_answer(&self, budget: Duration) -> bool {
        self.spin(budget) || (self.is_taken() && self.spin(budget * TAKEN_SPIN_FACTOR))
    }

    /// Blocks the owner until the latch is set: parks (after any spinning the
    /// caller did with [`Latch::spin`]).
    pub(crate) fn wait(&self) {
        let parker = self.announce_sleep();
        // `park` can return spuriously.
        while self.state.load(Ordering::Acquire) != SET {
            parker.park();
        }
    }

    /// Parks for up to about `timeout`; whether the latch is set.
    pub(crate) fn wait_for(&self, timeout: Duration) -> bool {
        // Once SLEEPING, the setter will unpark us; staying SLEEPING across calls
        // only costs it one unpark.
        let parker = self.announce_sleep();
        if self.state.load(Ordering::Acquire) == SET {
            return true;
        }
        parker.park_timeout(timeout);
        self.state.load(Ordering::Acquire) == SET
    }

    /// Sets the latch, waking its owner if it sleeps.
    ///
    /// # Safety
    /// `this` must point to a live latch. The owner may free it as soon as the state
    /// becomes SET, so nothing here touches `*this` after the swap.
    pub(crate) unsafe fn set(this: *const Latch) {
        // SAFETY: `this` is alive until the state becomes SET (the contract).
        let latch = unsafe { &*this };
        // The common case: the owner is still spinning, and nobody needs waking.
        if latch
            .state
            .compare_exchange(UNSET, SET, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        // SLEEPING: the owner published itself and cannot leave before SET, so
        // the latch is alive here. Cloned before the swap: after it, it may be gone.
        // SAFETY: read after observing SLEEPING, which the owner's write precedes.
        let owner = unsafe { (*latch.owner.get()).clone() };
        latch.state.swap(SET, Ordering::AcqRel);
        if let Some(owner) = owner {
            owner.unpark();
        }
    }
}

/// Looks [`spin_until_timed`] makes, a `PAUSE` apart, before it reads the clock
/// and starts yielding between looks.
pub(crate) const PURE_SPINS: u32 = 64;

/// Looks a runtime thread waiting for a caller back to back makes one right
/// after the other, before those a `PAUSE` apart (`Pool::wait` says when): a
/// `PAUSE` is 25 ns on the Zen 4 measured (140 cycles on recent Intel cores),
/// and a call answered back to back waits, on average, for half the time
/// between two looks. With no pause between looks, calls back to back took
/// 70–77 ns instead of 83–85 ns there (round trip 64 ns). Enough looks to cover the longest wait after an answer
/// (`quiet.rs`) with room to spare. (Under loom: none, every look multiplies
/// the interleavings.)
#[cfg(not(loom))]
pub(crate) const TIGHT_LOOKS: u32 = 256;
#[cfg(loom)]
pub(crate) const TIGHT_LOOKS: u32 = 0;

/// Polls `done` for up to `budget`: a few rounds of pure spinning (a hand-off that is
/// already under way finishes within them), then yielding, so that on a machine with
/// fewer cores than busy threads the thread we wait for gets to run. Returns whether
/// `done` became true.
#[inline]
pub(crate) fn spin_until(budget: Duration, done: impl FnMut() -> bool) -> bool {
    spin_until_timed(budget, 0, done).0
}

/// As [`spin_until`], after up to `tight` looks with no pause between them
/// (see [`TIGHT_LOOKS`]); also returns when it first read the clock, if it did
/// (not in its first rounds: a `done` that comes soon costs no look at the
/// clock).
#[inline]
pub(crate) fn spin_until_timed(
    budget: Duration,
    tight: u32,
    mut done: impl FnMut() -> bool,
) -> (bool, Option<Instant>) {
    if budget.is_zero() {
        return (done(), None);
    }
    for _ in 0..tight {
        if done() {
            return (true, None);
        }
    }
    for _ in 0..PURE_SPINS {
        if done() {
            return (true, None);
        }
        std::hint::spin_loop();
    }
    let start = Instant::now();
    loop {
        if done() {
            return (true, Some(start));
        }
        if start.elapsed() >= budget {
            return (false, Some(start));
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
