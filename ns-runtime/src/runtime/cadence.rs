//! When a caller that calls at a steady rate will call next, so that the
//! thread is awake for it without spinning through the pause.
//!
//! A call that wakes a sleeping thread costs its caller a wake-up: about as much
//! as two threads parking and unparking each other (on the virtual machines
//! measured, 1.7 times `setns` in place), and spinning through the pause instead
//! costs a whole CPU. But a daemon polling its namespaces, or anything driven
//! by a timer, calls at a steady rate: the gaps between its calls' arrivals
//! repeat. Once a few of them agree, the thread sets a timer for just before
//! the next call is due, spins briefly around it, and the call is handed off as
//! if back to back; the sleep costs one timer wake-up a call, which the caller
//! no longer pays for.
//!
//! The timer fires late (the idle CPU's own wake-up: 20 µs or more on the
//! virtual machines measured, with the thread's timer slack at 1 µs), so the
//! thread learns how late, from its last wake-ups, and asks that much earlier
//! (enough for most of them: the few later ones cost their call a wake-up); a
//! call that came while it slept shows the timer is later still. What a call
//! can cost in spinning is bounded: the thread allows for at most
//! [`MAX_LATE`] of lateness and [`MAX_DEVIATION`] of jitter. Gaps that do not
//! repeat (within an eighth of the period and `MAX_DEVIATION`), a call in
//! between, or a pause too short or too long (see [`PERIODS`]) stop it: the
//! thread then sleeps until a caller wakes it, as without this.

use std::time::{Duration, Instant};

/// Fewest agreeing periods before the thread sets a timer.
const AGREEING: u32 = 3;

/// How long the thread means to be awake before the call is due (and the
/// least it spins past it): the gaps of a timer-driven caller vary by a few
/// microseconds.
const SPIN_AROUND: Duration = Duration::from_micros(5);

/// The timer's lateness the thread allows for: never more than a quarter of
/// the period, nor than `MAX_LATE` (the spin is CPU spent for nothing; a timer
/// later than that is a hiccup of the machine, not worth spinning for every
/// call).
const MAX_LEAD_SHARE: u32 = 4;
const MAX_LATE: Duration = Duration::from_micros(100);

/// The most the gaps may vary (their mean deviation) for the thread to set a
/// timer: it spins twice that past the time the call is due.
const MAX_DEVIATION: Duration = Duration::from_micros(30);

/// Periods outside this range are not followed: shorter ones are met by the
/// idle spin (`pace.rs`), and past a second, a wake-up's few microseconds are
/// nothing to the caller.
const PERIODS: std::ops::RangeInclusive<Duration> =
    Duration::from_micros(50)..=Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Cadence {
    /// When the last call came (observed after a sleep, or on time).
    last_arrival: Option<Instant>,
    /// The period between arrivals (a running mean), and its mean deviation.
    period: Duration,
    deviation: Duration,
    /// Periods that agreed with the mean, in a row.
    agreeing: u32,
    /// The last gap was far off the others, and left out (see `arrived`).
    outliers: u32,
    /// How late the thread's timers fire: the last few wake-ups.
    lateness: Lateness,
    /// The lateness allowed for (a high one of those, at most `most_late`).
    late: Duration,
    /// The call the thread set its timer for: when it is due, and when the
    /// timer was asked to fire.
    due: Option<Instant>,
    requested: Option<Instant>,
    /// When that timer woke the thread, if it did before the call came.
    woke: Option<Instant>,
}

impl Cadence {
    /// A call came at `at`, after a sleep or on a timer's wake-up: learns from it.
    pub(crate) fn arrived(&mut self, at: Instant) {
        self.learn_from_arrival(at);
        let Some(last) = self.last_arrival.replace(at) else {
            return;
        };
        let period = at.saturating_duration_since(last);
        if !PERIODS.contains(&period) {
            self.agreeing = 0;
            self.period = period;
            self.deviation = Duration::ZERO;
            return;
        }
        let off = abs_diff(period, self.period);
        let agrees = off <= self.period / 8;
        if self.agreeing > 0 && (!agrees || off > MAX_DEVIATION * 4) && self.outliers == 0 {
            // One gap far off the others (the machine's hiccup, or the caller's):
            // not averaged in, which would keep the timer off for many calls.
            // Two in a row: the rate changed.
            self.outliers = 1;
            return;
        }
        self.outliers = 0;
        if self.agreeing == 0 || !agrees {
            self.agreeing = u32::from(agrees);
            self.period = period;
            self.deviation = off.min(period / 8);
            return;
        }
        self.agreeing = self.agreeing.saturating_add(1);
        self.period = (self.period * 7 + period) / 8;
        self.deviation = (self.deviation * 7 + off) / 8;
    }

    /// A call that came before the timer it was set for woke the thread: the
    /// timer is later than the thread thought, by at least that much.
    fn learn_from_arrival(&mut self, at: Instant) {
        self.due = None;
        let (Some(requested), None) = (self.requested.take(), self.woke.take()) else {
            return;
        };
        // (A call that came before the timer was even due says nothing of it.)
        if let Some(late_by_at_least) = at.checked_duration_since(requested) {
            self.lateness.push(late_by_at_least + SPIN_AROUND);
            self.late = self.lateness.allowance().min(self.most_late());
        }
    }

    fn most_late(&self) -> Duration {
        (self.period / MAX_LEAD_SHARE).min(MAX_LATE)
    }

    /// The timer asked for `requested` woke the thread at `now`.
    fn learn_lateness(&mut self, requested: Instant, now: Instant) {
        self.lateness.push(now.saturating_duration_since(requested));
        self.late = self.lateness.allowance().min(self.most_late());
    }

    /// A call came back to back, or while the thread spun as usual: the caller
    /// does not (or no longer) call at a steady rate.
    pub(crate) fn interrupted(&mut self) {
        // (Called after every back-to-back call: without an arrival nothing is
        // kept, so one look does it. `sleep_for` needs one; `arrived` sets it.)
        if self.last_arrival.is_none() {
            return;
        }
        self.last_arrival = None;
        self.agreeing = 0;
        self.outliers = 0;
        self.missed();
    }

    /// How long the thread, going to sleep at `now`, sleeps before it wakes for
    /// the next call; `None`: until a caller wakes it (or, if the call is due
    /// later than `longest`, whatever ends that sleep).
    pub(crate) fn sleep_for(&mut self, now: Instant, longest: Duration) -> Option<Duration> {
        self.due = None;
        self.requested = None;
        self.woke = None;
        if self.agreeing < AGREEING || self.deviation > (self.period / 8).min(MAX_DEVIATION) {
            return None;
        }
        let due = self.last_arrival? + self.period;
        // (The period may have shrunk since the lateness was last learnt.)
        let wake = due.checked_sub(self.late.min(self.most_late()) + SPIN_AROUND)?;
        let sleep = wake
            .checked_duration_since(now)
            .filter(|&sleep| sleep < longest)?;
        self.due = Some(due);
        self.requested = Some(wake);
        Some(sleep)
    }

    /// The timer woke the thread at `now`: how long it spins for the call it
    /// expects. `None`: it expected none (the keep-alive ran out instead).
    pub(crate) fn timer_woke(&mut self, now: Instant) -> Option<Duration> {
        let due = self.due?;
        if let Some(requested) = self.requested {
            self.learn_lateness(requested, now);
        }
        self.woke = Some(now);
        let until = due + SPIN_AROUND + self.deviation * 2;
        Some(until.saturating_duration_since(now).max(SPIN_AROUND))
    }

    /// The spin after the timer ran out without a call: the call is late (its
    /// arrival tells whether the rate changed), or none comes any more (then
    /// it was due in the past, and no timer is set again).
    pub(crate) fn missed(&mut self) {
        self.due = None;
        self.requested = None;
        self.woke = None;
    }

    /// Whether the thread's next sleep ends on a timer for a call.
    pub(crate) fn timer_set(&self) -> bool {
        self.due.is_some() && self.woke.is_none()
    }

    /// Whether the thread is awake for a call the timer woke it for.
    pub(crate) fn expecting(&self) -> bool {
        self.woke.is_some()
    }
}

/// How late the last [`Lateness::KEPT`] timers fired (or at least how late,
/// for one a call beat).
#[derive(Default)]
struct Lateness {
    kept: [Duration; Lateness::KEPT],
    count: usize,
    next: usize,
}

impl Lateness {
    const KEPT: usize = 16;

    fn push(&mut self, late: Duration) {
        self.kept[self.next] = late;
        self.next = (self.next + 1) % Self::KEPT;
        self.count = (self.count + 1).min(Self::KEPT);
    }

    /// What to allow for: the 7/8 quantile of those kept (the second highest
    /// of 16; the highest until 9 are kept). A timer later than that costs a call a wake-up, about one call
    /// in ten; allowing for the highest would spin, for every call, as long as
    /// the worst of them.
    fn allowance(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let mut kept = self.kept;
        let kept = &mut kept[..self.count];
        kept.sort_unstable();
        kept[self.count * 7 / 8]
    }
}

fn abs_diff(a: Duration, b: Duration) -> Duration {
    a.max(b) - a.min(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_micros(270);

    /// Calls every `PERIOD` after `start`, `n` of them, each woken by its caller.
    fn steady(cadence: &mut Cadence, start: Instant, n: u32) -> Instant {
        let mut at = start;
        for _ in 0..n {
            at += PERIOD;
            cadence.arrived(at);
        }
        at
    }

    #[test]
    fn a_steady_caller_gets_a_timer_set_just_before_its_next_call() {
        let mut cadence = Cadence::default();
        let start = Instant::now();
        let last = steady(&mut cadence, start, 2);
        assert!(
            cadence.sleep_for(last, Duration::MAX).is_none(),
            "one period proves nothing"
        );
        let last = steady(&mut cadence, last, 3);
        let sleep = cadence
            .sleep_for(last, Duration::MAX)
            .expect("steady calls");
        assert_eq!(sleep, PERIOD - SPIN_AROUND);
        // The timer wakes the thread on time: it spins until just after the call
        // is due, at least `SPIN_AROUND`.
        let spin = cadence.timer_woke(last + sleep).unwrap();
        assert_eq!(spin, SPIN_AROUND * 2);
        assert!(cadence.expecting());
    }

    #[test]
    fn a_call_that_comes_before_the_late_timer_asks_for_an_earlier_wake_up_next_time() {
        let mut cadence = Cadence::default();
        let mut last = steady(&mut cadence, Instant::now(), 5);
        let late_by = Duration::from_micros(21);
        let mut early = Vec::new();
        for _ in 0..12 {
            let sleep = cadence.sleep_for(last, Duration::MAX).unwrap();
            let next = last + PERIOD;
            let woke = last + sleep + late_by;
            if woke < next {
                cadence.timer_woke(woke).unwrap();
            }
            cadence.arrived(next);
            early.push(next.checked_duration_since(woke));
            last = next;
        }
        // The first calls beat the timer; then the thread is up before each
        // call, soon before it.
        assert_eq!(early[0], None);
        for woke_before in &early[8..] {
            let woke_before = woke_before.expect("up before the call");
            assert!(woke_before <= SPIN_AROUND * 3, "{early:?}");
        }
    }

    #[test]
    fn gaps_that_vary_by_more_than_the_allowed_jitter_set_no_timer() {
        let mut cadence = Cadence::default();
        let mut at = Instant::now();
        // 10 ms ± 0.5 ms: within an eighth, but a spin of 1 ms a call.
        for i in 0..20_u32 {
            at += Duration::from_micros(if i % 2 == 0 { 9_500 } else { 10_500 });
            cadence.arrived(at);
        }
        assert!(cadence.agreeing >= AGREEING);
        assert!(cadence.sleep_for(at, Duration::MAX).is_none());
    }

    #[test]
    fn a_timer_later_than_the_most_allowed_is_not_spun_for_next_time() {
        let period = Duration::from_millis(500);
        let steady = || {
            let mut cadence = Cadence::default();
            let mut at = Instant::now();
            for _ in 0..5 {
                at += period;
                cadence.arrived(at);
            }
            let sleep = cadence.sleep_for(at, Duration::MAX).unwrap();
            (cadence, at + sleep)
        };
        // A hiccup: the call came 20 ms after the timer was asked to fire, and
        // the thread was still asleep.
        let (mut cadence, requested) = steady();
        cadence.arrived(requested + Duration::from_millis(20));
        assert_eq!(cadence.late, MAX_LATE);
        // A timer that woke the thread 50 ms late.
        let (mut cadence, requested) = steady();
        cadence
            .timer_woke(requested + Duration::from_millis(50))
            .unwrap();
        assert_eq!(cadence.late, MAX_LATE);
    }

    #[test]
    fn the_lateness_allowed_for_leaves_the_worst_wake_up_out() {
        let mut lateness = Lateness::default();
        lateness.push(Duration::from_micros(90));
        assert_eq!(lateness.allowance(), Duration::from_micros(90));
        for late in 20..35 {
            lateness.push(Duration::from_micros(late));
        }
        // 16 kept: 90 µs once, 20–34 µs; the second highest.
        assert_eq!(lateness.allowance(), Duration::from_micros(34));
    }

    #[test]
    fn one_gap_far_off_the_others_is_left_out_and_two_change_the_rate() {
        let mut cadence = Cadence::default();
        let period = Duration::from_secs(1) / 2;
        let mut at = Instant::now();
        for _ in 0..5 {
            at += period;
            cadence.arrived(at);
        }
        // A 10 ms hiccup, within an eighth of the period: left out.
        at += period + Duration::from_millis(10);
        cadence.arrived(at);
        assert!(cadence.sleep_for(at, Duration::MAX).is_some());
        assert_eq!(cadence.deviation, Duration::ZERO);
        // A new rate: after two gaps of it, it is the rate.
        let faster = Duration::from_millis(300);
        for _ in 0..2 {
            at += faster;
            cadence.arrived(at);
        }
        assert_eq!(cadence.period, faster);
        for _ in 0..3 {
            at += faster;
            cadence.arrived(at);
        }
        let sleep = cadence.sleep_for(at, Duration::MAX).unwrap();
        assert!(sleep < faster, "{sleep:?}");
    }

    #[test]
    fn gaps_that_do_not_repeat_set_no_timer() {
        let mut cadence = Cadence::default();
        let mut at = Instant::now();
        for i in 0..20_u32 {
            at += PERIOD + Duration::from_micros(u64::from(i % 3) * 60);
            cadence.arrived(at);
            assert!(cadence.sleep_for(at, Duration::MAX).is_none(), "call {i}");
        }
    }

    #[test]
    fn a_late_call_keeps_the_rate_and_a_call_in_between_stops_it_until_gaps_agree_again() {
        let mut cadence = Cadence::default();
        let last = steady(&mut cadence, Instant::now(), 5);
        let sleep = cadence.sleep_for(last, Duration::MAX).unwrap();
        let spin = cadence.timer_woke(last + sleep).unwrap();
        // No call in the spin: the thread sleeps until a caller wakes it.
        cadence.missed();
        assert!(!cadence.expecting());
        let after_spin = last + sleep + spin;
        assert!(cadence.sleep_for(after_spin, Duration::MAX).is_none());
        // The call came late, once: the rate holds, the timer is set again.
        let late = last + PERIOD + PERIOD / 16;
        cadence.arrived(late);
        let last = steady(&mut cadence, late, 1);
        assert!(cadence.sleep_for(last, Duration::MAX).is_some());
        // A call back to back: not a steady caller any more.
        cadence.interrupted();
        assert!(cadence.sleep_for(last, Duration::MAX).is_none());
        let last = steady(&mut cadence, last, AGREEING);
        assert!(cadence.sleep_for(last, Duration::MAX).is_none());
        let last = steady(&mut cadence, last, 1);
        assert!(cadence.sleep_for(last, Duration::MAX).is_some());
    }

    #[test]
    fn pauses_too_short_or_too_long_are_not_followed() {
        for period in [Duration::from_micros(20), Duration::from_secs(2)] {
            let mut cadence = Cadence::default();
            let mut at = Instant::now();
            for _ in 0..10 {
                at += period;
                cadence.arrived(at);
            }
            assert!(cadence.sleep_for(at, Duration::MAX).is_none(), "{period:?}");
        }
    }
}
