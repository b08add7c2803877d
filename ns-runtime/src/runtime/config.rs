//! A runtime's settings, as its builder made them.

use std::time::Duration;

/// Settings of a [`Runtime`](super::Runtime).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) spin: Duration,
    pub(crate) max_idle_spin: Duration,
    pub(crate) stack_size: Option<usize>,
    pub(crate) dedicated: bool,
    pub(crate) sealed: bool,
    /// Every thread unshares its fs struct at birth (`Builder::private_fs`).
    pub(crate) private_fs: bool,
    /// A thread serving a caller that calls at a steady rate wakes on a timer
    /// for its next call (`cadence.rs`).
    pub(crate) anticipate: bool,
    /// Threads one target grows to while its callers outrun its threads or
    /// queue behind each other (`Builder::throughput_threads_per_ns`).
    pub(crate) throughput_threads: usize,
}

impl Config {
    /// The most threads one target gets for throughput (more come only for
    /// bodies that are stuck).
    pub(crate) fn throughput_limit(&self) -> usize {
        self.max_threads.min(self.throughput_threads)
    }
}

/// How long callers and idle threads spin by default: long enough for calls that
/// come back to back (a hand-off takes well under a microsecond), short enough
/// that a steady call rate costs little CPU (a thousand calls a second: 3–4 % of
/// a core in all without the timer of `cadence.rs`, 5–6 % with it, against
/// 2–3 % for `setns` in place, by run; `BENCHMARKS.md`).
const FRUGAL_SPIN: Duration = Duration::from_micros(5);

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: 8,
            keep_alive: Duration::from_secs(10),
            spin: FRUGAL_SPIN,
            max_idle_spin: FRUGAL_SPIN,
            stack_size: None,
            dedicated: false,
            sealed: false,
            private_fs: false,
            anticipate: true,
            throughput_threads: half_the_cpus(),
        }
    }
}

/// Half the CPUs this process may use, at least one: a thread and a caller each
/// get a CPU, so more threads than that do not serve trivial calls any faster.
fn half_the_cpus() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    (cpus / 2).max(1)
}
