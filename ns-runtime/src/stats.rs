//! What a runtime is doing, for operators: threads per target, calls served and
//! waiting, and every runtime thread of the process.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runtime threads of this process, of every runtime, alive now (sync and async;
/// at home or serving).
static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Counts the calling thread as a runtime thread while it lives.
pub(crate) struct LiveThread(());

impl LiveThread {
    pub(crate) fn begin() -> LiveThread {
        LIVE_THREADS.fetch_add(1, Ordering::Relaxed);
        LiveThread(())
    }
}

impl Drop for LiveThread {
    fn drop(&mut self) {
        LIVE_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of a runtime: see [`Runtime::stats`](crate::Runtime::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct RuntimeStats {
    /// Runtime threads alive in this process, of every runtime: serving, idle at
    /// home, and async threads.
    pub process_threads: usize,
    /// Per target this runtime has served and whose handles still exist.
    pub targets: Vec<TargetStats>,
}

/// One target of a [`RuntimeStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetStats {
    /// The target, as its handle displays it (kind, name or path, inode).
    pub target: String,
    /// Threads in the target now (running a body, waiting or asleep).
    pub threads: usize,
    /// Threads on their way in.
    pub incoming: usize,
    /// Of `threads`, those asleep.
    pub sleeping: usize,
    /// Calls queued, waiting for a thread (not counting one handed straight to a
    /// waiting thread).
    pub queued: usize,
    /// Calls served so far.
    pub calls: u64,
}

impl TargetStats {
    pub(crate) fn new(
        target: String,
        threads: usize,
        incoming: usize,
        sleeping: usize,
        queued: usize,
        calls: u64,
    ) -> TargetStats {
        TargetStats {
            target,
            threads,
            incoming,
            sleeping,
            queued,
            calls,
        }
    }
}

/// Runtime threads alive in this process now.
pub(crate) fn live_threads() -> usize {
    LIVE_THREADS.load(Ordering::Relaxed)
}

/// Logs an event of the runtime's threads with `tracing` (feature `tracing`), at
/// debug level under the target `ns_runtime`; nothing at all without the feature.
/// Only slow paths log (starts, moves, exits, growth, failures): never a call.
macro_rules! event {
    ($($args:tt)*) => {{
        #[cfg(feature = "tracing")]
        ::tracing::debug!(target: "ns_runtime", $($args)*);
    }};
}
pub(crate) use event;
