//! Where a runtime thread is, and how it moves: per joinable kind, one `setns`
//! for each namespace that differs between where it is and where it goes.

use std::cell::Cell;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};

use nix::sched::CloneFlags;

use crate::error::{Error, Result};
use crate::sys::{self, NsId};
use crate::target::{Target, JOINABLE};

#[cfg(not(loom))]
thread_local! {
    /// What the calling thread is (see [`Here`]).
    static ROLE: Cell<usize> = const { Cell::new(NOT_OURS) };
}

#[cfg(loom)]
loom::thread_local! {
    static ROLE: Cell<usize> = Cell::new(NOT_OURS);
}

/// [`ROLE`] of a thread that is not a runtime thread.
const NOT_OURS: usize = 0;
/// [`ROLE`] of a runtime thread that serves no target now. (A target's address
/// is never 1: it is an `Arc`'s, aligned.)
const AT_HOME: usize = 1;

/// What the calling thread is, read once per call: not a runtime thread, a
/// runtime thread serving no target, or one serving a target (the target's
/// address). One word, so that a call reads one thread-local for both
/// questions it asks.
#[derive(Clone, Copy)]
pub(crate) struct Here(usize);

impl Here {
    /// Whether the thread serves `target` now (then a call into it runs
    /// inline).
    #[inline]
    pub(crate) fn serves(self, target: &Arc<Target>) -> bool {
        self.0 == Arc::as_ptr(target) as usize
    }

    /// Whether the thread is a runtime thread (of any target, or none).
    #[inline]
    pub(crate) fn is_runtime_thread(self) -> bool {
        self.0 != NOT_OURS
    }
}

/// What the calling thread is.
#[inline]
pub(crate) fn here() -> Here {
    Here(ROLE.with(Cell::get))
}

/// Whether the calling thread is a runtime thread (of any target, or none).
pub(crate) fn is_runtime_thread() -> bool {
    here().is_runtime_thread()
}

/// The process's own namespaces, where runtime threads go when they serve nobody:
/// those of its main thread, read once per process (a forked child's main thread
/// is the thread that forked, which may be elsewhere than its parent's).
pub(crate) fn process_home() -> Result<&'static Target> {
    static HOME: Mutex<Option<(usize, &'static Target)>> = Mutex::new(None);
    let generation = super::fork::generation();
    let mut home = HOME.lock().unwrap_or_else(PoisonError::into_inner);
    match *home {
        Some((made_in, target)) if made_in == generation => Ok(target),
        _ => {
            // Leaked: threads of this process may hold it until they end; one per
            // process that forks.
            let target: &'static Target = Box::leak(Box::new(Target::process_home()?));
            *home = Some((generation, target));
            Ok(target)
        }
    }
}

/// Moves the calling thread (not a runtime thread: the spawner they are born
/// from) to the process's own namespaces, for good.
#[cfg(not(loom))]
///
/// # Errors
/// If it is in another mount namespace than the process (a thread with a mount
/// namespace of its own cannot be brought back without losing the process's cwd
/// and root), or a `setns` fails.
pub(crate) fn go_home_for_good() -> Result<()> {
    let home = process_home()?;
    let mut place = Place {
        ids: [None; JOINABLE.len()],
        private_fs: false,
        serving: None,
    };
    place.read_where_it_is();
    let mnt = crate::target::slot(crate::NsKind::Mnt);
    if let Some(slot) = mnt {
        let want = home.member(slot).map(|ns| ns.id());
        if want.is_some() && place.ids[slot] != want {
            return Err(Error::UncleanStart {
                detail: "the thread that first needed one is in a mount namespace of its own; make the first call from a thread in the process's mount namespace".into(),
            });
        }
    }
    place.move_to(None, home)
}

/// Where the calling runtime thread is: per joinable kind, the namespace.
pub(crate) struct Place {
    ids: [Option<NsId>; JOINABLE.len()],
    /// Has its own fs struct (`unshare(CLONE_FS)`), as entering a mount namespace
    /// needs: its cwd and root no longer follow the process's.
    private_fs: bool,
    /// The target served, if any.
    serving: Option<usize>,
}

/// A move that failed: why, and whether the thread is stranded (could not get
/// back home either, and must not serve anything again).
pub(crate) struct MoveFailed {
    pub(crate) error: Error,
    pub(crate) stranded: bool,
}

impl Place {
    /// Marks the calling thread as a runtime thread and reads where it is.
    pub(crate) fn of_current_thread() -> Place {
        ROLE.with(|role| role.set(AT_HOME));
        let mut place = Place {
            ids: [None; JOINABLE.len()],
            private_fs: false,
            serving: None,
        };
        place.read_where_it_is();
        place
    }

    fn read_where_it_is(&mut self) {
        if !cfg!(loom) {
            for (id, kind) in self.ids.iter_mut().zip(JOINABLE) {
                *id = sys::thread_ns_id(kind).ok();
            }
        }
    }

    pub(crate) fn has_private_fs(&self) -> bool {
        self.private_fs
    }

    /// Gives the thread an fs struct of its own (`unshare(CLONE_FS)`).
    ///
    /// # Errors
    /// Those of `unshare`.
    pub(crate) fn unshare_fs(&mut self) -> std::io::Result<()> {
        if !self.private_fs {
            sys::unshare(CloneFlags::CLONE_FS.bits())?;
            self.private_fs = true;
        }
        Ok(())
    }

    /// Moves into `target` (and the process's own namespace of every kind it does
    /// not name). On failure, goes back home.
    pub(crate) fn enter(&mut self, target: &Arc<Target>) -> std::result::Result<(), MoveFailed> {
        self.serve(None);
        let home = process_home().map_err(|error| MoveFailed {
            error,
            stranded: false,
        })?;
        if let Err(error) = self.move_to(Some(target), home) {
            let stranded = self.move_to(None, home).is_err();
            return Err(MoveFailed { error, stranded });
        }
        self.serve(Some(Arc::as_ptr(target) as usize));
        Ok(())
    }

    /// Goes back to the process's own namespaces.
    pub(crate) fn go_home(&mut self) -> Result<()> {
        self.serve(None);
        self.move_to(None, process_home()?)
    }

    fn serve(&mut self, target: Option<usize>) {
        self.serving = target;
        ROLE.with(|role| role.set(target.unwrap_or(AT_HOME)));
    }

    fn move_to(&mut self, target: Option<&Arc<Target>>, home: &Target) -> Result<()> {
        if cfg!(loom) {
            return Ok(()); // the model checks the hand-off, not the kernel
        }
        let want = |slot: usize| {
            target
                .and_then(|target| target.member(slot))
                .or_else(|| home.member(slot))
        };
        let differ = |place: &Place, slot: usize| {
            want(slot).is_some_and(|ns| place.ids[slot] != Some(ns.id()))
        };
        if !(0..JOINABLE.len()).any(|slot| differ(self, slot)) {
            return Ok(());
        }
        if let Some(target) = target {
            // All members at once if the target came from a process; whatever
            // still differs afterwards (or after a failure) is entered one by one.
            self.enter_through_process(target, &differ);
        }
        for (slot, kind) in JOINABLE.into_iter().enumerate() {
            let Some(ns) = want(slot).filter(|_| differ(self, slot)) else {
                continue;
            };
            if kind == crate::NsKind::Mnt {
                // Entering a mount namespace needs a private fs struct; without it
                // the kernel refuses, or (through a pidfd) moves every thread's root.
                self.unshare_fs()
                    .map_err(|e| Error::syscall("unshare(CLONE_FS)", ns, e))?;
            }
            // Until it succeeds, the thread is where it was in this kind.
            sys::enter(ns.file.fd.as_fd(), kind).map_err(|e| Error::syscall("setns", ns, e))?;
            self.ids[slot] = Some(ns.id());
        }
        Ok(())
    }

    /// Every differing member at once through the target's process (a pidfd),
    /// while it is still in them; then reads where the thread is.
    fn enter_through_process(&mut self, target: &Target, differ: &dyn Fn(&Place, usize) -> bool) {
        let Some(process) = target.process() else {
            return;
        };
        let mut flags = CloneFlags::empty();
        for (slot, kind) in JOINABLE.into_iter().enumerate() {
            if target.member(slot).is_some() && differ(self, slot) {
                if kind == crate::NsKind::Mnt && !self.private_fs {
                    return; // one by one: unshare(CLONE_FS) comes first
                }
                flags |= kind.clone_flag();
            }
        }
        if flags.is_empty() || sys::setns(process.pidfd.as_fd(), flags.bits()).is_err() {
            return;
        }
        // The process may have moved since the set was taken: read where we are.
        self.read_where_it_is();
    }
}
