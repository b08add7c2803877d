//! The CPU's cycle counter, read around each body: a body that took less time
//! than the cheapest system call made none, so it cannot have moved its thread
//! (`setns`, `unshare`). A worker then has nothing to check after it, and a
//! stream of such calls pays for no check at all (a check costs several system
//! calls: `BENCHMARKS.md`, "Where the time goes").
//!
//! The bar is measured, not assumed: half the fastest of a few `getppid` calls
//! on this machine, in counter ticks. It is used only where the counter is
//! one the kernel itself keeps time with (x86-64, clock source `tsc`): constant
//! rate, and the same on every CPU, so that a body moved to another CPU is not
//! timed short. Elsewhere every body counts as one that may have moved its
//! thread (checked within `CHECK_EVERY` calls, as before).

use std::sync::OnceLock;

/// A reading of the counter (always 0 where it is not used).
#[derive(Clone, Copy)]
pub(crate) struct Tick(u64);

/// When a body began and ended.
#[derive(Clone, Copy)]
pub(crate) struct Span(pub(crate) Tick, pub(crate) Tick);

/// Reads the counter. Not ordered with the code around it: the bar leaves room
/// for a reading taken a little early or late.
#[inline]
pub(crate) fn now() -> Tick {
    #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
    {
        // SAFETY: `rdtsc` reads a register that every x86-64 CPU has; it has no
        // other effect.
        Tick(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
    {
        Tick(0)
    }
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

/// Ticks below which a body made no system call; 0: not known here (every
/// body may have).
pub(crate) fn syscall_bar() -> u64 {
    static BAR: OnceLock<u64> = OnceLock::new();
    *BAR.get_or_init(measure_bar)
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

fn measure_bar() -> u64 {
    if now().0 == 0 || !kernel_keeps_time_with_the_counter() {
        return 0;
    }
    let fastest = (0..32)
        .map(|_| {
            let start = now();
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::getppid() };
            now().0.wrapping_sub(start.0)
        })
        .min()
        .unwrap_or(0);
    fastest / 2
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

    #[test]
    fn a_system_call_is_never_too_short_and_a_trivial_body_is() {
        let bar = syscall_bar();
        if bar == 0 {
            // Not used on this machine: no body counts as too short.
            assert!(!made_no_syscall(Span(now(), now()), bar));
            return;
        }
        for _ in 0..100 {
            let start = now();
            // SAFETY: as in `measure_bar`.
            unsafe { libc::getpid() };
            let span = Span(start, now());
            assert!(!made_no_syscall(span, bar), "a system call timed as none");
        }
        let short = (0..100)
            .filter(|_| {
                let start = now();
                std::hint::black_box(std::hint::black_box(3_u64).wrapping_mul(7));
                made_no_syscall(Span(start, now()), bar)
            })
            .count();
        assert!(short > 90, "only {short} of 100 trivial bodies timed short");
    }

    #[test]
    fn a_sleep_is_slow_and_a_trivial_body_is_not() {
        let bar = syscall_bar();
        let start = now();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(slow(Span(start, now()), bar));
        if bar == 0 {
            // Not used on this machine: every body may be slow.
            assert!(slow(Span(now(), now()), bar));
            return;
        }
        let quick = (0..100)
            .filter(|_| {
                let start = now();
                std::hint::black_box(std::hint::black_box(3_u64).wrapping_mul(7));
                !slow(Span(start, now()), bar)
            })
            .count();
        assert!(quick > 90, "only {quick} of 100 trivial bodies timed quick");
    }
}
