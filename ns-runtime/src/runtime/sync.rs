//! The synchronisation primitives of the hand-off, from `std`, or from `loom` when
//! built with `--cfg loom` so that the model checker explores every interleaving of
//! the real protocol code (see `loom_tests.rs`).

#[cfg(loom)]
pub(crate) use loom::{
    sync::atomic::{AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize},
    sync::{Mutex, MutexGuard},
    thread::{self, JoinHandle, Thread},
};
#[cfg(not(loom))]
pub(crate) use std::{
    sync::atomic::{AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize},
    sync::{Mutex, MutexGuard},
    thread::{self, JoinHandle, Thread},
};

use std::io;
use std::sync::{LockResult, PoisonError};
use std::time::Duration;

/// Parks the calling thread for up to `timeout` (loom has no time: there, until
/// unparked).
pub(crate) fn park_timeout(timeout: Duration) {
    #[cfg(loom)]
    {
        let _ = timeout;
        thread::park();
    }
    #[cfg(not(loom))]
    thread::park_timeout(timeout);
}

/// Locks, ignoring poison: no code of ours panics while holding these locks (jobs
/// run outside them), so a poisoned lock still guards consistent state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    ignore_poison(mutex.lock())
}

fn ignore_poison<G>(result: LockResult<G>) -> G {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// Spawns a namespace thread named `name`.
pub(crate) fn spawn<F>(name: String, stack_size: Option<usize>, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    #[cfg(loom)]
    {
        let _ = (name, stack_size);
        Ok(thread::spawn(f))
    }
    #[cfg(not(loom))]
    {
        let mut builder = thread::Builder::new().name(name);
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        builder.spawn(f)
    }
}
