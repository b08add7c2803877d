//! A pool's way to the thread that drives its async bodies (`driver.rs`): the
//! sending end of that thread's channel, while the thread runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// A body on its way to the driver.
pub(crate) trait AsyncJob: Send {
    /// On the driver thread: the task that runs the body and reports its outcome.
    fn start(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()>>>;
    /// The body cannot run: the driver could not enter or start.
    fn fail(self: Box<Self>, err: Error);
}

pub(crate) type Jobs = mpsc::UnboundedSender<Box<dyn AsyncJob>>;

/// A pool's way to its driver, if one is running.
#[derive(Default)]
pub(crate) struct DriverSlot(Mutex<Option<Jobs>>);

impl DriverSlot {
    /// Hands `job` to the driver; if none runs (or the last one is exiting),
    /// `start` starts one with `job` and returns its channel. Under the slot's
    /// lock: two callers never start two drivers.
    ///
    /// # Errors
    /// What `start` returns.
    pub(crate) fn send_or_start(
        &self,
        job: Box<dyn AsyncJob>,
        start: impl FnOnce(Box<dyn AsyncJob>) -> Result<Jobs>,
    ) -> Result<()> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match slot.as_ref() {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(job)) => job, // that driver is exiting
            },
            None => job,
        };
        *slot = Some(start(job)?);
        Ok(())
    }

    /// Closes the channel: the driver finishes the bodies it has and exits.
    pub(crate) fn close(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}
