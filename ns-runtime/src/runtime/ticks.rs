//! A clock read around each body: a body that took less time than the cheapest
//! system call made none, so it cannot have moved its thread (`setns`,
//! `unshare`). A worker then has nothing to check after it, and a stream of
//! such calls pays for no check at all (a check costs several system calls:
//! `BENCHMARKS.md`, "Where the time goes"). A body that took much longer is
//! slow: calls should not wait behind it in its thread's cells (`pool.rs`).
//!
//! The clock is the CPU's cycle counter where the kernel itself keeps time with
//! it (x86-64, clock source `tsc`: constant rate, and the same on every CPU, so
//! that a body moved to another CPU is not timed short), a few nanoseconds a
//! reading; elsewhere the monotonic clock, if a reading costs less than a
//! quarter of the cheapest system call (a vDSO read, ≈ 20–50 ns). The bar is
//! measured, not assumed: half the fastest of a few `getppid` calls on this
//! machine, in the clock's ticks. Without a clock (and under loom and miri)
//! every body may have moved its thread, and every body is slow.

use std::sync::OnceLock;
#[cfg(not(any(loom, miri)))]
use std::time::Instant;

/// A reading of the clock (always 0 where there is none).
#[derive(Clone, Copy)]
pub(crate) struct Tick(u64);

impl Tick {
    /// A reading of `ticks` (for tests of what uses readings).
    #[cfg(test)]
    pub(crate) fn at(ticks: u64) -> Tick {
        Tick(ticks)
    }

    /// Ticks from `earlier` to this reading.
    pub(crate) fn since(self, earlier: Tick) -> u64 {
        self.0.wrapping_sub(earlier.0)
    }
}

/// When a body began and ended.
#[derive(Clone, Copy)]
pub(crate) struct Span(pub(crate) Tick, pub(crate) Tick);

/// Where the ticks come from, chosen once per process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Clock {
    /// The cycle counter (`rdtsc`).
    Counter,
    /// Nanoseconds of the monotonic clock.
    Monotonic,
    /// No clock cheap enough to read twice per call (a monotonic clock that
    /// takes a system call to read).
    None,
}

#[inline]
fn clock() -> Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    *CLOCK.get_or_init(|| {
        if cfg!(target_arch = "x86_64") && kernel_keeps_time_with_the_counter() {
            Clock::Counter
        } else if cheap_to_read(Clock::Monotonic) {
            Clock::Monotonic
        } else {
            Clock::None
        }
    })
}

/// Reads the clock. Not ordered with the code around it: the bar leaves room
/// for a reading taken a little early or late.
#[inline]
pub(crate) fn now() -> Tick {
    read(clock())
}

#[inline]
fn read(clock: Clock) -> Tick {
    #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
    if clock == Clock::Counter {
        // SAFETY: `rdtsc` reads a register that every x86-64 CPU has; it has no
        // other effect.
        return Tick(unsafe { core::arch::x86_64::_rdtsc() });
    }
    #[cfg(not(any(loom, miri)))]
    if clock == Clock::Monotonic {
        static START: OnceLock<Instant> = OnceLock::new();
        // (Nanoseconds since the first reading: 584 years fit.)
        return Tick(START.get_or_init(Instant::now).elapsed().as_nanos() as u64);
    }
    let _ = clock;
    Tick(0)
}

/// Runs `body` and reads the counter right around it. Only the body: not the
/// read of its closure nor the write of its answer, which may wait for a cache
/// line its caller holds (on some CPUs a reading after a store waits for the
/// store's line: 100 to 500 ticks, longer than a system call's bar).
#[inline]
pub(crate) fn timed<R>(body: impl FnOnce() -> R) -> (R, Span) {
    let began = now();
    let value = body();
    (value, Span(began, now()))
}

/// Ticks below which a body made no system call; 0: no clock here (every
/// body may have).
pub(crate) fn syscall_bar() -> u64 {
    static BAR: OnceLock<u64> = OnceLock::new();
    *BAR.get_or_init(|| measure_bar(clock()))
}

/// Whether a body that ran for `span` took too short a time to have made a
/// system call, against `bar` ([`syscall_bar`]).
#[inline]
pub(crate) fn made_no_syscall(span: Span, bar: u64) -> bool {
    // (A counter that went backwards wraps to a huge difference: not short.)
    span.1 .0.wrapping_sub(span.0 .0) < bar
}

/// A body that ran this many bars or longer (as long as 32 of the cheapest
/// system calls: about 5 µs here) is slow: see [`slow`].
const SLOW_BARS: u64 = 64;

/// Whether a body that ran for `span` was slow, against `bar` ([`syscall_bar`]):
/// calls waiting in its thread's cells would wait that long for each such body
/// before theirs, where another thread could have run them meanwhile. Every
/// body may be where the counter is not used (`bar` 0).
#[inline]
pub(crate) fn slow(span: Span, bar: u64) -> bool {
    bar == 0 || span.1 .0.wrapping_sub(span.0 .0) >= bar.saturating_mul(SLOW_BARS)
}

fn measure_bar(clock: Clock) -> u64 {
    if cfg!(any(loom, miri)) || clock == Clock::None {
        return 0;
    }
    fastest_getppid(clock) / 2
}

/// The fastest of a few `getppid` calls, in `clock`'s ticks.
fn fastest_getppid(clock: Clock) -> u64 {
    (0..32)
        .map(|_| {
            let start = read(clock);
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::getppid() };
            read(clock).0.wrapping_sub(start.0)
        })
        .min()
        .unwrap_or(0)
}

/// Whether reading `clock` costs less than a quarter of the cheapest system
/// call (two readings per call, and room left to tell a body without one).
fn cheap_to_read(clock: Clock) -> bool {
    let fastest_read = (0..32)
        .map(|_| {
            let start = read(clock);
            read(clock).0.wrapping_sub(start.0)
        })
        .min()
        .unwrap_or(u64::MAX);
    fastest_read.saturating_mul(4) < fastest_getppid(clock)
}

/// Whether the kernel's clock source is the cycle counter (then it found the
/// counter constant-rate and synchronised across CPUs).
fn kernel_keeps_time_with_the_counter() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|source| source.trim() == "tsc")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Both clocks: the one this machine uses, and the monotonic one any machine
    /// may fall back to.
    fn clocks() -> Vec<Clock> {
        let mut clocks = vec![clock()];
        if cheap_to_read(Clock::Monotonic) && clock() != Clock::Monotonic {
            clocks.push(Clock::Monotonic);
        }
        clocks.retain(|&clock| clock != Clock::None);
        clocks
    }

    fn trivial_spans(clock: Clock) -> impl Iterator<Item = Span> {
        (0..100).map(move |_| {
            let start = read(clock);
            std::hint::black_box(std::hint::black_box(3_u64).wrapping_mul(7));
            Span(start, read(clock))
        })
    }

    #[test]
    fn a_system_call_is_never_too_short_and_a_trivial_body_is() {
        for clock in clocks() {
            let bar = measure_bar(clock);
            assert!(bar > 0, "{clock:?}");
            for _ in 0..100 {
                let start = read(clock);
                // SAFETY: as in `measure_bar`.
                unsafe { libc::getpid() };
                let span = Span(start, read(clock));
                assert!(
                    !made_no_syscall(span, bar),
                    "{clock:?}: a system call timed as none"
                );
            }
            let short = trivial_spans(clock)
                .filter(|&span| made_no_syscall(span, bar))
                .count();
            assert!(
                short > 90,
                "{clock:?}: only {short} of 100 trivial bodies timed short"
            );
        }
        assert_eq!(syscall_bar() > 0, clock() != Clock::None);
    }

    #[test]
    fn a_sleep_is_slow_and_a_trivial_body_is_not() {
        for clock in clocks() {
            let bar = measure_bar(clock);
            let start = read(clock);
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert!(slow(Span(start, read(clock)), bar), "{clock:?}");
            let quick = trivial_spans(clock)
                .filter(|&span| !slow(span, bar))
                .count();
            assert!(
                quick > 90,
                "{clock:?}: only {quick} of 100 trivial bodies timed quick"
            );
        }
        // Without a clock, every body may be slow.
        assert!(slow(Span(Tick(0), Tick(0)), 0));
    }
}
