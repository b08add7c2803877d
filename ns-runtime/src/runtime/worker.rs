//! The life of a namespace thread: enter once, serve, exit. Never leave.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, PoisonError};

use super::pool::Pool;
use crate::error::Result;
use crate::kind::NsKind;
use crate::sys::NsId;

/// Every live thread of ours that sits in a namespace of its own: tid → (kind,
/// home inode, or `None` for a helper still creating its namespace). Registered
/// before the thread enters (so that `audit` never mistakes an entering thread for
/// a stray) and removed when it ends.
type Registry = HashMap<u32, (NsKind, Option<u64>)>;

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut guard = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(HashMap::new))
}

/// (tid, kind, home inode) of every registered thread.
pub(crate) fn namespace_threads() -> Vec<(u32, NsKind, Option<u64>)> {
    registry(|threads| {
        threads
            .iter()
            .map(|(&tid, &(kind, inode))| (tid, kind, inode))
            .collect()
    })
}

/// The calling thread's registration; removed when dropped, however the thread
/// ends.
pub(crate) struct Registered(u32);

/// Registers the calling thread as living in a namespace of `kind` (`home`: its
/// inode; `None` while the thread is creating it).
pub(crate) fn register(kind: NsKind, home: Option<u64>) -> Registered {
    let tid = nix::unistd::gettid().as_raw() as u32;
    registry(|threads| threads.insert(tid, (kind, home)));
    Registered(tid)
}

impl Registered {
    pub(crate) fn tid(&self) -> u32 {
        self.0
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        registry(|threads| threads.remove(&self.0));
    }
}

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
    let registered = register(pool.ns.kind(), Some(pool.ns.id().ino));
    if let Err(err) = pool.ns.enter_current_thread() {
        // Not inside: the thread ends here, in the namespace it was born in.
        let _ = ready.send(Err(err));
        return;
    }
    HOME.with(|home| home.set(Some(pool.ns.id())));
    pool.worker_started();
    let _ = ready.send(Ok(()));
    drop(ready);
    pool.serve(registered.tid());
}
