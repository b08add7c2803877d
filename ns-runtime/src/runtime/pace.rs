//! How long an idle runtime thread spins for the next call before it sleeps,
//! from how calls came so far.
//!
//! Spinning buys latency with CPU, and pays only when the next call comes
//! within the spin. Three cases:
//!
//! - Calls that find the thread spinning (back to back, or a caller visiting
//!   targets one after another): spin again, at least `spin`, up to 1.5 times the
//!   interval between the last two calls within `spin ..= max_idle_spin`.
//! - A call that woke the thread after a short sleep (it came too late for the
//!   spin, but soon: on a virtual machine, a caller woken on an idle CPU takes
//!   10–30 µs to call again): spin 1.5 times that sleep next time, up to
//!   `max_idle_spin` or [`SPARSE_AFTER`], whichever is longer. Without this, a
//!   caller and a thread on two CPUs settle into waking each other for every
//!   call.
//! - A call that woke the thread after a long sleep (sparse calls: more than four
//!   times `max_idle_spin` apart, and at least [`SPARSE_AFTER`]): do not spin at
//!   all. A spin that cannot catch the next call only burns CPU, and worse, makes
//!   that call slower: a thread that spun after answering still holds its CPU
//!   when its caller wakes, so the caller is woken on another, idle, one (on a
//!   virtual machine that costs about 10 µs); and having used more than its share
//!   of CPU, it will not preempt its next caller when woken, which costs the
//!   caller a sleep and a wake-up of its own. A thread that sleeps at once answers
//!   a sparse call in about the time of the floor of a wake-up (`BENCHMARKS.md`,
//!   sparse calls).

use std::time::{Duration, Instant};

use super::Config;

/// See the module documentation.
const SPARSE_AFTER: Duration = Duration::from_micros(50);

/// Calls that end at most this far apart, with no sleep between, come back to
/// back (see [`Pace::back_to_back`]).
const BACK_TO_BACK: Duration = Duration::from_micros(10);

pub(crate) struct Pace {
    spin: Duration,
    longest: Duration,
    sparse_after: Duration,
    /// How long to spin when next idle.
    window: Duration,
    last_job_end: Option<Instant>,
    idle_since: Instant,
    /// How long the thread had been idle when it was last woken, if it slept
    /// since its last job.
    woken_after: Option<Duration>,
    /// The last two calls came back to back.
    back_to_back: bool,
}

impl Pace {
    pub(crate) fn new(config: &Config) -> Pace {
        let longest = config.max_idle_spin.max(config.spin);
        Pace {
            spin: config.spin,
            longest,
            sparse_after: (longest * 4).max(SPARSE_AFTER),
            window: config.spin,
            last_job_end: None,
            idle_since: Instant::now(),
            woken_after: None,
            back_to_back: false,
        }
    }

    /// How long to spin for the next call now.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Whether calls come back to back: the last two ended within
    /// [`BACK_TO_BACK`] of each other, without a sleep between (under loom,
    /// always: the model explores several armed cells).
    pub(crate) fn back_to_back(&self) -> bool {
        cfg!(loom) || self.back_to_back
    }

    /// How long the thread has been idle.
    pub(crate) fn idle_for(&self) -> Duration {
        self.idle_since.elapsed()
    }

    /// The thread was woken from a sleep.
    pub(crate) fn woken(&mut self) {
        self.woken_after = Some(self.idle_since.elapsed());
    }

    /// The thread finished a job. Returns whether calls are sparse (it will not
    /// spin for the next).
    pub(crate) fn job_done(&mut self) -> bool {
        if cfg!(loom) {
            // Decisions on wall-clock time would make the model's executions
            // differ from one another; loom explores the spin as a branch anyway.
            return false;
        }
        let now = Instant::now();
        let interval = self.last_job_end.replace(now).map(|last| now - last);
        self.idle_since = now;
        self.back_to_back =
            self.woken_after.is_none() && interval.is_some_and(|interval| interval <= BACK_TO_BACK);
        self.window = match self.woken_after.take() {
            Some(idle) if idle > self.sparse_after => Duration::ZERO,
            Some(idle) => idle
                .mul_f32(1.5)
                .clamp(self.spin, self.longest.max(SPARSE_AFTER)),
            None => {
                let adapted = interval.map_or(self.spin, |interval| {
                    interval.mul_f32(1.5).clamp(self.spin, self.longest)
                });
                self.window.max(adapted)
            }
        };
        self.window.is_zero()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn frugal() -> Pace {
        Pace::new(&Config::default())
    }

    #[test]
    fn a_call_after_a_long_sleep_stops_the_spin_and_one_after_a_short_sleep_widens_it() {
        let mut pace = frugal();
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Config::default().spin);
        pace.woken_after = Some(Duration::from_micros(200));
        assert!(pace.job_done());
        assert_eq!(pace.window(), Duration::ZERO);
        pace.woken_after = Some(Duration::from_micros(20));
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Duration::from_micros(30));
        // Caught while spinning: the window holds until the thread sleeps.
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Duration::from_micros(30));
    }

    #[test]
    fn the_window_never_exceeds_the_sparse_limit() {
        let mut pace = frugal();
        pace.woken_after = Some(Duration::from_micros(49));
        pace.job_done();
        assert_eq!(pace.window(), SPARSE_AFTER);
    }
}
