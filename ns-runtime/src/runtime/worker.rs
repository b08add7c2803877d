//! The life of a namespace thread: enter once, serve, exit. Never leave.

use std::cell::Cell;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use super::pool::Pool;
use crate::error::Result;
use crate::sys::NsId;

thread_local! {
    /// The namespace this thread is a namespace thread of, if it is one.
    static HOME: Cell<Option<NsId>> = const { Cell::new(None) };
}

/// Whether the calling thread is a namespace thread (of any namespace).
pub(crate) fn is_worker() -> bool {
    HOME.with(|home| home.get().is_some())
}

/// Whether the calling thread is a namespace thread of namespace `id`.
pub(crate) fn is_worker_of(id: NsId) -> bool {
    HOME.with(|home| home.get() == Some(id))
}

/// The body of a namespace thread. Reports on `ready` whether it could enter.
pub(crate) fn main(pool: Arc<Pool>, ready: SyncSender<Result<()>>) {
    if let Err(err) = pool.ns.enter_current_thread() {
        // Not inside: the thread ends here, in the namespace it was born in.
        let _ = ready.send(Err(err));
        return;
    }
    HOME.with(|home| home.set(Some(pool.ns.id())));
    pool.worker_started();
    let _ = ready.send(Ok(()));
    drop(ready);
    pool.serve();
}
