//! A job that lives on the caller's stack while a namespace thread runs it.
//!
//! The design is rayon-core's `StackJob`: the closure and the slot for its result
//! stay in the caller's frame; the queue carries only a type-erased pointer to them.
//! That is what lets `run` take closures that borrow from the caller (no `'static`)
//! and costs no heap allocation per call.

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

use super::latch::Latch;

/// A type-erased pointer to a [`StackJob`], as queued for a namespace thread.
pub(crate) struct JobRef {
    data: *const (),
    execute: unsafe fn(*const ()),
}

// SAFETY: a JobRef is only created from a StackJob whose closure and result are
// `Send`, and it is executed exactly once, by one thread, while the owner waits.
unsafe impl Send for JobRef {}

impl JobRef {
    /// Runs the job and sets its latch.
    ///
    /// # Safety
    /// The job must still be alive (see [`StackJob::as_job_ref`]) and must not have
    /// been executed before. After this returns, the job may already be freed.
    pub(crate) unsafe fn execute(self) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.execute)(self.data) }
    }
}

/// A closure, its result slot and the latch its owner waits on.
pub(crate) struct StackJob<F, R> {
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<thread::Result<R>>>,
    pub(crate) latch: Latch,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    pub(crate) fn new(func: F) -> Self {
        StackJob {
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            latch: Latch::new(),
        }
    }

    /// A pointer to this job for another thread to execute.
    ///
    /// # Safety
    /// The caller must keep `self` alive and in place, and neither read the result
    /// nor drop `self`, until the latch is set, or until the `JobRef` is known never
    /// to be executed (it was dropped without being queued).
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        JobRef {
            data: (self as *const Self).cast(),
            execute: Self::execute,
        }
    }

    unsafe fn execute(data: *const ()) {
        // SAFETY: `data` came from `as_job_ref` on a live `Self`, whose owner keeps it
        // alive until the latch below is set, and it is executed once.
        let this = unsafe { &*data.cast::<Self>() };
        // SAFETY: only this, the single execution, touches `func` and `result` until
        // the latch is set; the owner reads `result` only after that.
        let func = unsafe { (*this.func.get()).take() };
        let result = match func {
            Some(func) => panic::catch_unwind(AssertUnwindSafe(func)),
            None => unreachable_job(),
        };
        // SAFETY: as above.
        unsafe { *this.result.get() = Some(result) };
        // SAFETY: `this.latch` is alive here; `set` touches nothing after releasing it.
        unsafe { Latch::set(&this.latch) };
    }

    /// The value returned by the closure; its panic is resumed here, in the caller.
    pub(crate) fn into_result(self) -> R {
        match self.result.into_inner() {
            Some(Ok(value)) => value,
            Some(Err(payload)) => panic::resume_unwind(payload),
            None => unreachable_job(),
        }
    }
}

/// A job taken twice, or a result read before the latch: a bug in this crate, never
/// a user's mistake. Abort instead of unwinding through a half-finished hand-off.
#[cold]
fn unreachable_job() -> ! {
    eprintln!("ns-runtime: internal error: a namespace job was run twice or read early");
    std::process::abort()
}
