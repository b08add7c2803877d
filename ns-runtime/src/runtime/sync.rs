//! The synchronisation primitives of the hand-off, from `std`, or from `loom` when
//! built with `--cfg loom` so that the model checker explores every interleaving of
//! the real protocol code (see `loom_tests.rs`).

#[cfg(loom)]
pub(crate) use loom::{
    sync::atomic::{AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize},
    sync::{Condvar, Mutex, MutexGuard},
    thread,
};
#[cfg(not(loom))]
pub(crate) use std::{
    sync::atomic::{AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicUsize},
    sync::{Mutex, MutexGuard},
    thread::{self, Thread},
};

#[cfg(loom)]
use std::io;
use std::sync::{LockResult, PoisonError};
use std::time::Duration;

/// How a caller waiting on a latch sleeps and is woken: its thread's park token.
/// The setter may unpark it after it stopped waiting (it saw the latch set and
/// went on, maybe to take a lock); with std's token semantics that only makes a
/// later park return early.
#[cfg(not(loom))]
#[derive(Clone)]
pub(crate) struct Parker(Thread);

#[cfg(not(loom))]
impl Parker {
    pub(crate) fn current() -> Parker {
        Parker(thread::current())
    }

    /// Parks the calling thread, which must be the one that made this parker.
    pub(crate) fn park(&self) {
        thread::park();
    }

    /// As [`Parker::park`], for up to `timeout`.
    pub(crate) fn park_timeout(&self, timeout: Duration) {
        thread::park_timeout(timeout);
    }

    pub(crate) fn unpark(&self) {
        self.0.unpark();
    }
}

/// Under loom, a token under a mutex: loom's `unpark` resumes a thread that is
/// blocked on a mutex instead of parked (tokio-rs/loom#249), which a late unpark
/// would do here. (Time is not modelled: `park_timeout` waits for the token.)
#[cfg(loom)]
#[derive(Clone)]
pub(crate) struct Parker(std::sync::Arc<(Mutex<bool>, Condvar)>);

#[cfg(loom)]
impl Parker {
    pub(crate) fn current() -> Parker {
        Parker(std::sync::Arc::new((Mutex::new(false), Condvar::new())))
    }

    pub(crate) fn park(&self) {
        let (token, wakeup) = &*self.0;
        let mut token = lock(token);
        while !*token {
            token = ignore_poison(wakeup.wait(token));
        }
        *token = false;
    }

    pub(crate) fn park_timeout(&self, _: Duration) {
        self.park();
    }

    pub(crate) fn unpark(&self) {
        let (token, wakeup) = &*self.0;
        *lock(token) = true;
        wakeup.notify_one();
    }
}

/// Locks, ignoring poison: no code of ours panics while holding these locks (jobs
/// run outside them), so a poisoned lock still guards consistent state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    ignore_poison(mutex.lock())
}

fn ignore_poison<G>(result: LockResult<G>) -> G {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// Spawns a runtime thread under loom (outside it, threads are born from the
/// spawner, `birth.rs`).
#[cfg(loom)]
pub(crate) fn spawn<F>(
    name: String,
    stack_size: Option<usize>,
    f: F,
) -> io::Result<loom::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let _ = (name, stack_size);
    Ok(loom::thread::spawn(f))
}
