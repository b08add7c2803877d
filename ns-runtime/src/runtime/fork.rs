//! Which process we are in: a counter that a `fork` child handler bumps, so that a
//! child made by `fork` (also by `Command::pre_exec`, which forks) never waits for
//! runtime threads of its parent that it does not have.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static GENERATION: AtomicUsize = AtomicUsize::new(0);

/// How many `fork`s lie between the first process that used a runtime and this one.
#[inline]
pub(crate) fn generation() -> usize {
    GENERATION.load(Ordering::Relaxed)
}

/// Installs the child handler, once per process (a child inherits it).
pub(crate) fn watch() {
    static WATCH: Once = Once::new();
    WATCH.call_once(|| {
        // A child handler only: it runs in the new, single-threaded process, where
        // an atomic add is async-signal-safe. (A prepare handler that took our
        // locks would deadlock a body that forks while a caller holds one.)
        // SAFETY: registers a function with no preconditions; `pthread_atfork`
        // copies the pointers and has no other effect.
        let _ = unsafe { libc::pthread_atfork(None, None, Some(forked)) };
    });
}

extern "C" fn forked() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}
