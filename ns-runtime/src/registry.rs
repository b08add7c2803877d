//! Every runtime thread of this process: where it is supposed to be, and the
//! threads retired because a body moved them. [`audit`](crate::audit) reads it.
//!
//! A thread is registered before it first leaves the process's namespaces and
//! says so before every move, so that an audit never takes a thread in transit
//! for a stray. An entry outlives its guard: a thread is still there, in its
//! namespace, for a moment after its last line of Rust, so the entry is only
//! marked as exiting and swept once `/proc/self/task/TID` is gone.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::kind::NsKind;

/// Where a registered thread should be, per kind; kinds not listed: the main
/// thread's. `None` as an inode: anywhere (a helper creating that namespace).
pub(crate) type Homes = Vec<(NsKind, Option<u64>)>;

#[derive(Clone)]
struct Entry {
    homes: Homes,
    /// Between two places: wherever it is, it is on its way.
    moving: bool,
    exiting: bool,
}

/// What `audit` needs to know of one registered thread.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub(crate) tid: u32,
    pub(crate) homes: Homes,
    pub(crate) moving: bool,
}

/// What a body did to a runtime thread that made it retire.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Damage {
    /// Moved it: (kind, inode it served, inode it was found in).
    Moved(NsKind, u64, u64),
    /// Gave it an fd table of its own (`unshare(CLONE_FILES)`).
    FdTable,
    /// Gave it an fs struct of its own (`unshare(CLONE_FS)`).
    FsStruct,
}

/// A retired thread: its tid and what was done to it.
pub(crate) type Retired = (u32, Damage);

#[derive(Default)]
struct Registry {
    threads: HashMap<u32, Entry>,
    retired: Vec<Retired>,
    /// Audits under way: while one scans `/proc`, nothing is swept, so that every
    /// thread it sees is still registered when it looks.
    audits: usize,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
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

/// The calling thread's registration; marked as exiting when dropped, however the
/// thread ends.
pub(crate) struct Registration(u32);

/// Registers the calling thread as living in `homes`.
pub(crate) fn register(homes: Homes) -> Registration {
    // (Under loom, threads may share an OS thread: the registry is not modelled.)
    let tid = nix::unistd::gettid().as_raw() as u32;
    with(|r| {
        r.sweep();
        r.threads.insert(
            tid,
            Entry {
                homes,
                moving: false,
                exiting: false,
            },
        )
    });
    Registration(tid)
}

impl Registration {
    pub(crate) fn tid(&self) -> u32 {
        self.0
    }

    /// The thread is about to move towards `homes`.
    pub(crate) fn moving(&self, homes: Homes) {
        self.update(|entry| {
            entry.homes = homes;
            entry.moving = true;
        });
    }

    /// The thread has arrived (or went back where `moving` said it goes).
    pub(crate) fn arrived(&self) {
        self.update(|entry| entry.moving = false);
    }

    fn update(&self, f: impl FnOnce(&mut Entry)) {
        with(|r| {
            if let Some(entry) = r.threads.get_mut(&self.0) {
                f(entry);
            }
        });
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.update(|entry| entry.exiting = true);
    }
}

/// Records a thread that a body damaged (moved it, or gave it an fd table or fs
/// struct of its own) as retired.
pub(crate) fn retire(tid: u32, damage: Damage) {
    with(|r| r.retired.push((tid, damage)));
}

/// An audit under way; see [`Registry::audits`].
pub(crate) struct AuditGuard(());

impl AuditGuard {
    pub(crate) fn begin() -> AuditGuard {
        with(|r| r.audits += 1);
        AuditGuard(())
    }

    /// Every registered thread, exiting ones included: called after the scan, it
    /// covers every thread the scan saw.
    pub(crate) fn runtime_threads(&self) -> Vec<Registered> {
        with(|r| {
            r.threads
                .iter()
                .map(|(&tid, entry)| Registered {
                    tid,
                    homes: entry.homes.clone(),
                    moving: entry.moving,
                })
                .collect()
        })
    }

    /// The threads retired since the last audit (each reported once).
    pub(crate) fn take_retired(&self) -> Vec<Retired> {
        with(|r| std::mem::take(&mut r.retired))
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        with(|r| {
            r.audits -= 1;
            r.sweep();
        });
    }
}
