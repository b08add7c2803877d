//! The life of a namespace thread: enter once, serve, exit. Never leave.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::pool::Pool;
use super::sync::Ready;
use crate::error::Result;
use crate::kind::NsKind;
use crate::target::{Target, TargetId};

/// Every thread of ours that sits in a namespace of its own: tid → entry.
/// Registered before the thread enters (so that `audit` never mistakes an entering
/// thread for a stray). An entry outlives its guard: a thread is still there, in
/// its namespace, for a moment after its last line of Rust, so the entry is only
/// marked as exiting and swept once `/proc/self/task/TID` is gone.
#[derive(Clone)]
struct Entry {
    /// Per kind it lives in, the namespace's inode; `None` for a helper still
    /// creating it.
    homes: Vec<(NsKind, Option<u64>)>,
    /// Inside its namespace already (before, it is still where it was born).
    entered: bool,
    exiting: bool,
}

/// What `audit` needs to know of one registered thread.
#[derive(Debug, Clone)]
pub(crate) struct Home {
    pub(crate) tid: u32,
    /// Per kind: the inode, or `None` for a helper creating its namespace
    /// (anywhere is right). Kinds not listed: the main thread's.
    pub(crate) homes: Vec<(NsKind, Option<u64>)>,
    /// Not entered yet: where it was born is right too.
    pub(crate) entering: bool,
}

#[derive(Default)]
struct Registry {
    threads: HashMap<u32, Entry>,
    /// Audits under way: while one scans `/proc`, nothing is swept, so that every
    /// thread it sees is still registered when it looks.
    audits: usize,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut guard = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Registry::default))
}

impl Registry {
    /// Forgets the exiting threads that are gone (unless an audit is looking).
    fn sweep(&mut self) {
        if self.audits == 0 {
            self.threads.retain(|tid, entry| {
                !entry.exiting || std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
            });
        }
    }
}

/// An audit under way; see [`Registry::audits`].
pub(crate) struct AuditGuard(());

impl AuditGuard {
    pub(crate) fn begin() -> AuditGuard {
        registry(|r| r.audits += 1);
        AuditGuard(())
    }

    /// (tid, kind, home inode) of every registered thread, exiting ones included:
    /// called after the scan, it covers every thread the scan saw.
    pub(crate) fn namespace_threads(&self) -> Vec<Home> {
        registry(|r| {
            r.threads
                .iter()
                .map(|(&tid, entry)| Home {
                    tid,
                    homes: entry.homes.clone(),
                    entering: !entry.entered,
                })
                .collect()
        })
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        registry(|r| {
            r.audits -= 1;
            r.sweep();
        });
    }
}

/// The calling thread's registration; marked as exiting when dropped, however the
/// thread ends.
pub(crate) struct Registered(u32);

/// Registers the calling thread as living in `homes`: per kind, the namespace's
/// inode (`None` while the thread is creating it).
pub(crate) fn register(homes: Vec<(NsKind, Option<u64>)>) -> Registered {
    // (Under loom, threads may share an OS thread: the registry is not modelled.)
    let tid = nix::unistd::gettid().as_raw() as u32;
    registry(|r| {
        r.sweep();
        r.threads.insert(
            tid,
            Entry {
                homes,
                entered: false,
                exiting: false,
            },
        )
    });
    Registered(tid)
}

impl Registered {
    pub(crate) fn tid(&self) -> u32 {
        self.0
    }

    /// The thread is inside its namespace now.
    pub(crate) fn entered(&self) {
        registry(|r| {
            if let Some(entry) = r.threads.get_mut(&self.0) {
                entry.entered = true;
            }
        });
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        registry(|r| {
            if let Some(entry) = r.threads.get_mut(&self.0) {
                entry.exiting = true;
            }
        });
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The namespace this thread is a namespace thread of, if it is one.
    static HOME: Cell<Option<TargetId>> = const { Cell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    static HOME: Cell<Option<TargetId>> = Cell::new(None);
}

/// Whether the calling thread is a namespace thread (of any namespace).
pub(crate) fn is_worker() -> bool {
    HOME.with(|home| home.get().is_some())
}

/// Whether the calling thread is a namespace thread of target `id`.
pub(crate) fn is_worker_of(id: TargetId) -> bool {
    HOME.with(|home| home.get() == Some(id))
}

/// Moves the calling thread, a new namespace thread, into `target` for good:
/// registered before it enters (so that `audit` never takes it for a stray), then
/// marked as inside.
pub(crate) fn move_in(target: &Target) -> Result<Registered> {
    let registered = register(target.homes());
    target.enter_current_thread()?;
    registered.entered();
    HOME.with(|home| home.set(Some(target.id())));
    Ok(registered)
}

/// The body of a namespace thread. Reports on `ready` whether it could enter.
pub(crate) fn main(pool: Arc<Pool>, ready: &Ready<Result<()>>) {
    let registered = match move_in(&pool.target) {
        Ok(registered) => registered,
        Err(err) => {
            // Not inside: the thread ends here, in the namespace it was born in.
            ready.fill(Err(err));
            return;
        }
    };
    pool.worker_started();
    ready.fill(Ok(()));
    pool.serve(registered.tid());
}
