//! A runtime thread that shares its CPU with its own caller moves off it.
//!
//! A caller and the thread serving it hand calls over in a spin, which needs
//! them on two CPUs. The scheduler sometimes puts them on one: a sleeping
//! thread woken while every other CPU is busy lands on its caller's CPU, and it
//! stays there after the other CPUs free up, because the load balancer leaves
//! tasks that ran within the last half millisecond where they are (both always
//! did). Each call then waits for the caller to give up its CPU: about 7 µs
//! instead of 0.15 µs, for about 10 ms on the 2-CPU machines measured, until
//! the balancer gives up waiting. A caller that had to yield for its answer
//! notes its CPU in the cell (`cells.rs`); a thread that finds it runs on that
//! same CPU moves off it: it narrows its CPU set to the others for a moment
//! (the kernel moves it at once) and puts the set back as `sched_getaffinity`
//! gave it. A thread that woke on a timer for a steady caller's call
//! (`cadence.rs`) moves off its caller's CPU whenever that caller notes it had
//! to yield (not once in 50 ms), and before it sets that timer if it is on the
//! CPU of the caller that last woke it: both timers would otherwise fire on
//! that one CPU, and the call would wait for a yield (about 5 µs a call
//! instead of 1 µs). (That is the CPUs the thread may use then; as with the set every
//! runtime thread takes at birth, `birth.rs`, CPUs that a cpuset adds later are
//! not in it.)

use std::time::{Duration, Instant};

/// A thread moves off a shared CPU at most once in this long: where callers
/// outnumber CPUs, some always share the thread's CPU, and moving cannot help.
const AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// The CPU the calling thread runs on now (`None`: not known here).
pub(crate) fn current() -> Option<usize> {
    #[cfg(not(any(loom, miri)))]
    {
        // SAFETY: no arguments, no memory touched; glibc reads it from the rseq
        // area the kernel keeps (no system call), else asks the kernel.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }
    #[cfg(any(loom, miri))]
    None
}

/// When a runtime thread last moved off a CPU it shared with its caller.
#[derive(Default)]
pub(crate) struct Mover {
    last_move: Option<Instant>,
}

impl Mover {
    /// Moves the calling thread off `shared` (its caller's CPU) if it runs
    /// there, unless it tried within [`AT_MOST_EVERY`] (and not `at_once`) or
    /// may run nowhere else. Its CPU set is as it was afterwards. Returns
    /// whether it moved.
    pub(crate) fn leave(&mut self, shared: usize, at_once: bool) -> bool {
        if current() != Some(shared)
            || !at_once
                && self
                    .last_move
                    .is_some_and(|last| last.elapsed() < AT_MOST_EVERY)
        {
            return false;
        }
        self.last_move = Some(Instant::now());
        move_off(shared)
    }
}

fn move_off(cpu: usize) -> bool {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let me = Pid::from_raw(0);
    let Ok(allowed) = sched_getaffinity(me) else {
        return false;
    };
    let mut elsewhere = allowed;
    if elsewhere.unset(cpu).is_err() {
        return false;
    }
    let others = (0..CpuSet::count()).any(|other| elsewhere.is_set(other).unwrap_or(false));
    if !others {
        return false;
    }
    // Narrowing the set moves the thread before the call returns; widening it
    // again leaves it where it is now.
    let moved = sched_setaffinity(me, &elsewhere).is_ok();
    let _ = sched_setaffinity(me, &allowed);
    moved
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_moves_off_its_cpu_and_keeps_its_cpu_set() {
        let me = nix::unistd::Pid::from_raw(0);
        let before = nix::sched::sched_getaffinity(me).unwrap();
        let cpus = (0..nix::sched::CpuSet::count())
            .filter(|&cpu| before.is_set(cpu).unwrap_or(false))
            .count();
        if current().is_none() {
            return; // not known on this machine
        }
        // The scheduler may move the thread between a look and the move: look
        // again until they agree (or the one try allowed so soon was spent).
        let mut mover = Mover::default();
        let moved = (0..1000).any(|_| {
            let here = current().unwrap();
            mover.leave(here, false) && current() != Some(here)
        });
        assert_eq!(moved, cpus > 1, "moved: {moved}, CPUs allowed: {cpus}");
        let after = nix::sched::sched_getaffinity(me).unwrap();
        assert_eq!(before, after, "the CPU set is put back");
        // Not again so soon, and never for a CPU the thread is not on.
        assert!(!mover.leave(current().unwrap(), false));
        assert!(!Mover::default().leave(usize::MAX, true));
    }
}
