//! A job that lives on the caller's stack while a namespace thread runs it.
//!
//! The design is rayon-core's `StackJob`: the closure and the slot for its result
//! stay in the caller's frame; the queue carries only a type-erased pointer to them.
//! That is what lets `run` take closures that borrow from the caller (no `'static`)
//! and costs no heap allocation per call.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};

use super::latch::Latch;
use crate::error::Error;

/// A type-erased pointer to a [`StackJob`], as queued for a namespace thread.
pub(crate) struct JobRef {
    data: *const (),
    execute: unsafe fn(*const ()),
    cancel: unsafe fn(*const (), Error),
}

// SAFETY: a JobRef is only created from a StackJob whose closure and result are
// `Send`, and it is completed (executed or cancelled) exactly once, by one thread,
// while the owner waits.
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

    /// Completes the job with `err` instead of running it, and sets its latch.
    ///
    /// # Safety
    /// As for [`JobRef::execute`].
    pub(crate) unsafe fn cancel(self, err: Error) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.cancel)(self.data, err) }
    }

    /// The job's address: two JobRefs with the same id are the same job.
    pub(crate) fn id(&self) -> *const () {
        self.data
    }
}

/// How a job ended.
enum JobResult<R> {
    Done(R),
    Panicked(Box<dyn Any + Send>),
    /// It never ran: no namespace thread could be had for it.
    Failed(Error),
}

/// A closure, its result slot and the latch its owner waits on.
pub(crate) struct StackJob<F, R> {
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<JobResult<R>>>,
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
            cancel: Self::cancel,
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
            Some(func) => match panic::catch_unwind(AssertUnwindSafe(func)) {
                Ok(value) => JobResult::Done(value),
                Err(payload) => JobResult::Panicked(payload),
            },
            None => unreachable_job(),
        };
        // SAFETY: as above.
        unsafe { Self::complete(this, result) };
    }

    unsafe fn cancel(data: *const (), err: Error) {
        // SAFETY: as in `execute`: the job is alive, and this is its one completion.
        unsafe { Self::complete(&*data.cast::<Self>(), JobResult::Failed(err)) };
    }

    /// Stores the result and sets the latch.
    ///
    /// # Safety
    /// Called once per job, by the thread that took it; `this` may be freed as soon
    /// as the latch is set.
    unsafe fn complete(this: &Self, result: JobResult<R>) {
        // SAFETY: only the completing thread writes `result`; the owner reads it only
        // after the latch is set.
        unsafe { *this.result.get() = Some(result) };
        // SAFETY: `this.latch` is alive here; `set` touches nothing after releasing it.
        unsafe { Latch::set(&this.latch) };
    }

    /// What the closure returned, or why it could not run; its panic is resumed
    /// here, in the caller.
    pub(crate) fn into_result(self) -> Result<R, Error> {
        match self.result.into_inner() {
            Some(JobResult::Done(value)) => Ok(value),
            Some(JobResult::Panicked(payload)) => panic::resume_unwind(payload),
            Some(JobResult::Failed(err)) => Err(err),
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
