//! What the threads of one pool live in: one namespace, or a set of them (at most
//! one per kind), entered once by each thread at birth.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use nix::sched::CloneFlags;

use crate::error::{Error, Result};
use crate::kind::NsKind;
use crate::namespace::Namespace;
use crate::sys::{self, NsId};

/// The kinds a thread of a multi-threaded process can join, in the order a thread
/// enters them (mount last: it changes the thread's root and cwd).
pub(crate) const JOINABLE: [NsKind; 5] = [
    NsKind::Net,
    NsKind::Uts,
    NsKind::Ipc,
    NsKind::Cgroup,
    NsKind::Mnt,
];

fn slot(kind: NsKind) -> Option<usize> {
    JOINABLE.iter().position(|&k| k == kind)
}

/// The identity of a target: per joinable kind, the namespace it includes.
/// Valid while the target's files are open (inode numbers are reused after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TargetId([Option<NsId>; JOINABLE.len()]);

/// A process whose namespaces a set was taken from, through a pidfd: the set is
/// entered through it in one `setns`, all or nothing, while it still matches.
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) pidfd: OwnedFd,
}

/// One or more namespaces of distinct, joinable kinds.
pub(crate) struct Target {
    id: TargetId,
    /// In `JOINABLE` order.
    members: Vec<Arc<Namespace>>,
    process: Option<Process>,
}

impl Target {
    /// # Errors
    /// [`Error::NotJoinable`] for a user, pid or time namespace, [`Error::DuplicateKind`]
    /// for two namespaces of one kind, [`Error::EmptySet`] for none.
    pub(crate) fn new(
        mut members: Vec<Arc<Namespace>>,
        process: Option<Process>,
    ) -> Result<Target> {
        let mut id = [None; JOINABLE.len()];
        for ns in &members {
            let kind = ns.kind();
            let at = slot(kind).ok_or_else(|| Error::not_joinable(kind))?;
            if id[at].replace(ns.id()).is_some() {
                return Err(Error::DuplicateKind { kind });
            }
        }
        if members.is_empty() {
            return Err(Error::EmptySet);
        }
        members.sort_by_key(|ns| slot(ns.kind()));
        Ok(Target {
            id: TargetId(id),
            members,
            process,
        })
    }

    /// One namespace, if a thread can join its kind.
    pub(crate) fn single(ns: Arc<Namespace>) -> Option<Target> {
        let mut id = [None; JOINABLE.len()];
        id[slot(ns.kind())?] = Some(ns.id());
        Some(Target {
            id: TargetId(id),
            members: vec![ns],
            process: None,
        })
    }

    pub(crate) fn includes(&self, kind: NsKind) -> bool {
        slot(kind).is_some_and(|at| self.id.0[at].is_some())
    }

    pub(crate) fn id(&self) -> TargetId {
        self.id
    }

    /// (kind, inode) of every member: what `audit` expects of this target's threads.
    pub(crate) fn homes(&self) -> Vec<(NsKind, Option<u64>)> {
        self.members
            .iter()
            .map(|ns| (ns.kind(), Some(ns.id().ino)))
            .collect()
    }

    /// The inode that names this target's threads (`ns-INODE`): the first member's.
    pub(crate) fn inode(&self) -> u64 {
        self.members[0].id().ino
    }

    /// Thread names: `ns-INODE` and `nsa-INODE` (async) for one network namespace,
    /// `nsk-`/`nska-` for any other target (at most 15 bytes).
    pub(crate) fn thread_name(&self, asynchronous: bool) -> String {
        let net_only = self.members.len() == 1 && self.members[0].kind() == NsKind::Net;
        let prefix = match (net_only, asynchronous) {
            (true, false) => "ns",
            (true, true) => "nsa",
            (false, false) => "nsk",
            (false, true) => "nska",
        };
        format!("{prefix}-{}", self.inode())
    }

    /// Moves the calling thread into every member. Only a namespace thread calls
    /// this, once, before it runs any job; a thread for which it fails exits.
    pub(crate) fn enter_current_thread(&self) -> Result<()> {
        if cfg!(loom) {
            return Ok(()); // the model checks the hand-off, not the kernel
        }
        if self.includes(NsKind::Mnt) {
            // Entering a mount namespace needs a private fs struct; without it the
            // kernel refuses, or (through a pidfd) moves the root of every thread.
            nix::sched::unshare(CloneFlags::CLONE_FS)
                .map_err(|e| Error::syscall("unshare(CLONE_FS)", self, io::Error::from(e)))?;
        }
        if self.enter_through_process() {
            return Ok(());
        }
        for ns in &self.members {
            sys::enter(ns.file.fd.as_fd(), ns.kind())
                .map_err(|e| Error::syscall("setns", &**ns, e))?;
        }
        Ok(())
    }

    /// All members at once through the process's pidfd; whether the thread is now
    /// in exactly the members. (The process may have exited, changed namespaces
    /// since, or the kernel may predate `setns` on a pidfd: then the members' own
    /// files are entered one by one, which reach exactly the recorded namespaces.)
    fn enter_through_process(&self) -> bool {
        let Some(process) = &self.process else {
            return false;
        };
        let flags = self.members.iter().fold(CloneFlags::empty(), |flags, ns| {
            flags | ns.kind().clone_flag()
        });
        nix::sched::setns(process.pidfd.as_fd(), flags).is_ok() && self.moved_away().is_none()
    }

    /// The first member the calling thread is not in: (kind, home inode, found inode).
    pub(crate) fn moved_away(&self) -> Option<(NsKind, u64, u64)> {
        if cfg!(loom) {
            return None; // loom threads never entered anything
        }
        self.members.iter().find_map(|ns| {
            let home = ns.id();
            match sys::thread_ns_id(ns.kind()) {
                Ok(now) if now != home => Some((ns.kind(), home.ino, now.ino)),
                // Could not tell (procfs unreadable): keep serving rather than guess.
                _ => None,
            }
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [single] = self.members.as_slice() {
            return fmt::Display::fmt(&**single, f);
        }
        match &self.process {
            Some(process) => write!(f, "namespaces of pid {} (", process.pid)?,
            None => f.write_str("namespace set (")?,
        }
        for (i, ns) in self.members.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} inode {}", ns.kind(), ns.id().ino)?;
        }
        f.write_str(")")
    }
}
