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
//!   sparse calls). Unless the calls come at a steady rate: then it sets a
//!   timer for just before the next one (`cadence.rs`).

use std::time::{Duration, Instant};

use super::cadence::Cadence;
use super::config::Config;
use super::sleeper::Woken;

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
    /// The worker looked at the clock since its last job (while waiting, or
    /// after a sleep). If not, the job was waiting for it: back to back.
    clocked: bool,
    /// `idle_since` is older than the last job (jobs that came back to back
    /// were not timed): set it when next looking at the clock.
    stale: bool,
    /// When sparse calls come next, if they come at a steady rate.
    cadence: Cadence,
    /// When the call now served came, if the thread slept or waited on a timer
    /// for it (the waker's time, or when the thread found it).
    arrival: Option<Instant>,
    /// The CPU of the last caller that woke the thread, if known.
    caller_cpu: Option<usize>,
    /// Whether it sets timers for steady callers ([`Config::anticipate`]).
    anticipate: bool,
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
            clocked: true,
            stale: false,
            cadence: Cadence::default(),
            arrival: None,
            caller_cpu: None,
            anticipate: config.anticipate,
        }
    }

    /// How long to spin for the next call now.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Whether calls come back to back: the last two ended within
    /// [`BACK_TO_BACK`] of each other, without a sleep between.
    pub(crate) fn back_to_back(&self) -> bool {
        self.back_to_back
    }

    /// How long the thread has been idle.
    pub(crate) fn idle_for(&mut self) -> Duration {
        if std::mem::take(&mut self.stale) {
            self.idle_since = Instant::now();
        }
        self.idle_since.elapsed()
    }

    /// The thread, waiting for a call, looked at the clock (at `now`) for the
    /// first time since its last job.
    pub(crate) fn waiting_since(&mut self, now: Instant) {
        if std::mem::take(&mut self.stale) {
            self.idle_since = now;
        }
        self.clocked = true;
    }

    /// How long the thread, going to sleep, sleeps: `keep_alive_left`, or until
    /// just before the next call of a steady caller is due.
    pub(crate) fn sleep_for(&mut self, keep_alive_left: Duration) -> Duration {
        if cfg!(loom) || !self.anticipate {
            return keep_alive_left; // (loom: no wall-clock decisions, see `job_done`)
        }
        // Still waiting for the call a timer woke it for: it is late.
        if self.cadence.expecting() {
            self.cadence.missed();
        }
        self.cadence
            .sleep_for(Instant::now(), keep_alive_left)
            .unwrap_or(keep_alive_left)
    }

    /// Going to sleep until its timer wakes it for a steady caller's call: the
    /// CPU of that caller, if the thread last saw it (the caller woke it, and
    /// the thread, woken onto its caller's CPU, may still be there).
    pub(crate) fn caller_cpu_before_timer(&mut self) -> Option<usize> {
        if self.cadence.timer_set() {
            self.caller_cpu.take()
        } else {
            None
        }
    }

    /// The thread was woken from a sleep: by a caller (or the runtime), or by
    /// its timer (`None`).
    pub(crate) fn woken(&mut self, waker: Option<Woken>) {
        self.clocked = true;
        if waker.is_none() && !cfg!(loom) {
            let now = Instant::now();
            if let Some(window) = self.cadence.timer_woke(now) {
                // Up for a steady caller's call: spin for it, as if still idle
                // (what an earlier wake-up that brought no call said is void).
                self.window = window;
                self.arrival = None;
                self.woken_after = None;
                self.waiting_since(now);
                return;
            }
        }
        self.arrival = waker.map(|waker| waker.at);
        self.caller_cpu = waker.and_then(|waker| waker.cpu);
        self.woken_after = Some(self.idle_for());
    }

    /// Whether the thread is up for a steady caller's call.
    pub(crate) fn expecting(&self) -> bool {
        self.cadence.expecting()
    }

    /// The thread found a call, and runs it next: if it was up for it, the call
    /// came now. (Once its cells are given up before a sleep, the thread finds
    /// a call only by looking: in its cells, the queue or while giving them
    /// up.)
    pub(crate) fn call_found(&mut self) {
        if self.cadence.expecting() {
            self.arrival = Some(Instant::now());
        }
    }

    /// The thread finished a job. Returns whether calls are sparse (it will not
    /// spin for the next).
    pub(crate) fn job_done(&mut self) -> bool {
        if cfg!(loom) {
            // Decisions on wall-clock time would make the model's executions
            // differ from one another; loom explores the spin as a branch anyway.
            return false;
        }
        if !std::mem::take(&mut self.clocked) {
            // The job waited for the thread: calls come back to back, the
            // window stays as it is, and nothing here needs the time (a look
            // at the clock costs about a third of a hand-off).
            self.back_to_back = true;
            self.last_job_end = None;
            self.stale = true;
            self.cadence.interrupted();
            return false;
        }
        let now = Instant::now();
        let arrival = self.arrival.take();
        if self.cadence.expecting() {
            // The call a timer woke the thread for: sleep again at once.
            self.woken_after = None;
            self.cadence.arrived(arrival.unwrap_or(now));
            self.last_job_end = Some(now);
            self.idle_since = now;
            self.back_to_back = false;
            self.window = Duration::ZERO;
            return true;
        }
        let interval = self.last_job_end.replace(now).map(|last| now - last);
        self.idle_since = now;
        self.back_to_back =
            self.woken_after.is_none() && interval.is_some_and(|interval| interval <= BACK_TO_BACK);
        self.window = match self.woken_after.take() {
            Some(idle) if idle > self.sparse_after => {
                self.cadence.arrived(arrival.unwrap_or(now));
                Duration::ZERO
            }
            Some(idle) => {
                self.cadence.interrupted();
                idle.mul_f32(1.5)
                    .clamp(self.spin, self.longest.max(SPARSE_AFTER))
            }
            None => {
                self.cadence.interrupted();
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

    /// As `woken`, after a sleep of `idle`.
    fn woken_after(pace: &mut Pace, idle: Duration) {
        pace.woken_after = Some(idle);
        pace.clocked = true;
    }

    #[test]
    fn a_call_after_a_long_sleep_stops_the_spin_and_one_after_a_short_sleep_widens_it() {
        let mut pace = frugal();
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Config::default().spin);
        woken_after(&mut pace, Duration::from_micros(200));
        assert!(pace.job_done());
        assert_eq!(pace.window(), Duration::ZERO);
        woken_after(&mut pace, Duration::from_micros(20));
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Duration::from_micros(30));
        // Caught while spinning: the window holds until the thread sleeps.
        assert!(!pace.job_done());
        assert_eq!(pace.window(), Duration::from_micros(30));
        assert!(pace.back_to_back());
    }

    #[test]
    fn jobs_that_waited_for_the_thread_read_no_clock_and_idleness_counts_from_the_next_wait() {
        let mut pace = frugal();
        pace.job_done();
        let before = Instant::now();
        // Jobs that came while the thread was busy: not timed.
        for _ in 0..3 {
            assert!(!pace.job_done());
        }
        assert!(pace.back_to_back() && pace.stale);
        // Its idleness counts from its next look at the clock, not from the
        // last job it timed.
        std::thread::sleep(Duration::from_millis(20));
        pace.waiting_since(Instant::now());
        assert!(pace.idle_for() < Duration::from_millis(20));
        assert!(pace.idle_since > before);
    }

    /// Five calls that woke the thread, exactly 300 µs apart (their wakers'
    /// times; the first 5 s from now, so that the next is due in the future
    /// however slowly the test runs), the wakers on CPU 1.
    fn steady_calls(pace: &mut Pace, keep_alive: Duration) {
        let period = Duration::from_micros(300);
        let mut at = Instant::now() + Duration::from_secs(5);
        for _ in 0..5 {
            assert_eq!(pace.sleep_for(keep_alive), keep_alive, "no timer yet");
            std::thread::sleep(SPARSE_AFTER * 2); // (a sleep long enough to be sparse)
            pace.woken(Some(Woken { at, cpu: Some(1) }));
            assert!(pace.job_done(), "sparse: no spin after it");
            at += period;
        }
    }

    #[test]
    fn a_steady_caller_gets_a_timer_and_its_call_sends_the_thread_back_to_sleep_at_once() {
        let mut pace = frugal();
        let keep_alive = Config::default().keep_alive;
        steady_calls(&mut pace, keep_alive);
        let sleep = pace.sleep_for(keep_alive);
        assert!(
            sleep < keep_alive && sleep > Duration::from_millis(500),
            "{sleep:?}"
        );
        // It moves off its caller's CPU before it sleeps, once.
        assert_eq!(pace.caller_cpu_before_timer(), Some(1));
        assert_eq!(pace.caller_cpu_before_timer(), None);
        // A wake-up that brings no call (the runtime's, for another target
        // that another thread served): nothing to learn from yet.
        pace.woken(Some(Woken {
            at: Instant::now(),
            cpu: None,
        }));
        assert!(
            pace.sleep_for(keep_alive) < keep_alive,
            "the timer is set again"
        );
        // Woken by the timer: it spins for the call, and forgets the wake-up
        // before ...
        pace.woken(None);
        assert_eq!(pace.arrival, None);
        assert_eq!(pace.woken_after, None);
        assert!(pace.expecting());
        assert!(pace.window() > Duration::ZERO);
        // ... which comes: back to sleep at once.
        pace.call_found();
        assert!(pace.job_done());
        assert_eq!(pace.window(), Duration::ZERO);
        assert!(!pace.expecting());
    }

    #[test]
    fn a_runtime_that_does_not_anticipate_sets_no_timer() {
        let config = Config {
            anticipate: false,
            ..Config::default()
        };
        let mut pace = Pace::new(&config);
        steady_calls(&mut pace, config.keep_alive);
        assert_eq!(pace.sleep_for(config.keep_alive), config.keep_alive);
        assert_eq!(pace.caller_cpu_before_timer(), None);
    }

    #[test]
    fn the_window_never_exceeds_the_sparse_limit() {
        let mut pace = frugal();
        woken_after(&mut pace, Duration::from_micros(49));
        pace.job_done();
        assert_eq!(pace.window(), SPARSE_AFTER);
    }
}
