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
use super::ticks::{self, Span};
use crate::error::Error;

/// A type-erased pointer to a [`StackJob`], as queued for a namespace thread.
pub(crate) struct JobRef {
    data: *const (),
    run: unsafe fn(*const ()) -> Span,
    fail: unsafe fn(*const (), Error),
    latch: *const Latch,
}

// SAFETY: a JobRef is only created from a StackJob whose closure and result are
// `Send`, and it is completed (run or failed, then released) exactly once, by one
// thread, while the owner waits.
unsafe impl Send for JobRef {}

// A job is completed in two steps, so that the thread that ran it can do its own
// bookkeeping (count itself idle) before the owner may return and submit again:
// `run` (or `fail_and_release`) stores the result, `release` sets the latch.
impl JobRef {
    /// Tells the owner that a thread has taken the job (so no thread need be
    /// started for it).
    ///
    /// # Safety
    /// The job must not have been released yet.
    pub(crate) unsafe fn mark_taken(&self) {
        // SAFETY: an unreleased job's latch is alive (see `StackJob::as_job_ref`).
        unsafe { (*self.latch).mark_taken() }
    }

    /// Runs the closure and stores its result (or panic). Does not release.
    /// Returns when the closure began and ended.
    ///
    /// # Safety
    /// The job must not have been released, run or failed before.
    pub(crate) unsafe fn run(&self) -> Span {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.run)(self.data) }
    }

    /// Sets the latch: the owner may now read the result and free the job.
    ///
    /// # Safety
    /// The job must have been run or failed, and not released before. Nothing may
    /// touch the job after this.
    pub(crate) unsafe fn release(self) {
        // SAFETY: the latch is alive until it is set, which happens here.
        unsafe { Latch::set(self.latch) }
    }

    /// Stores `err` as the result instead of running the closure, then releases
    /// the job.
    ///
    /// # Safety
    /// As for [`JobRef::run`]; afterwards the job may be gone.
    pub(crate) unsafe fn fail_and_release(self, err: Error) {
        // SAFETY: forwarded from this function's contract: the job is alive, not
        // completed, and this is its one completion.
        unsafe {
            (self.fail)(self.data, err);
            self.release();
        }
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
            run: Self::run,
            fail: Self::fail,
            latch: &self.latch,
        }
    }

    unsafe fn run(data: *const ()) -> Span {
        // SAFETY: `data` came from `as_job_ref` on a live `Self`, whose owner keeps it
        // alive until the latch is set, and it is run once.
        let this = unsafe { &*data.cast::<Self>() };
        // SAFETY: only this, the single run, touches `func` and `result` until the
        // latch is set; the owner reads `result` only after that.
        let func = unsafe { (*this.func.get()).take() };
        let Some(func) = func else { unreachable_job() };
        let (outcome, body) = ticks::timed(|| panic::catch_unwind(AssertUnwindSafe(func)));
        let result = match outcome {
            Ok(value) => JobResult::Done(value),
            Err(payload) => JobResult::Panicked(payload),
        };
        // SAFETY: as above.
        unsafe { *this.result.get() = Some(result) };
        body
    }

    unsafe fn fail(data: *const (), err: Error) {
        // SAFETY: as in `run`: the job is alive, and this is its one completion; only
        // the completing thread writes `result` before the latch is set.
        unsafe { *(*data.cast::<Self>()).result.get() = Some(JobResult::Failed(err)) };
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
