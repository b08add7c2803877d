//! What a body runs in: one namespace, or a set of them (at most one per kind).
//! A runtime thread serves a target only while it is in every member, and in the
//! process's own namespace of every other joinable kind.

use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::Arc;

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

pub(crate) fn slot(kind: NsKind) -> Option<usize> {
    JOINABLE.iter().position(|&k| k == kind)
}

/// The identity of a target: per joinable kind (in `JOINABLE` order), the
/// namespace it includes. Valid while the target's files are open (inode numbers
/// are reused after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TargetKey(pub(crate) [Option<NsId>; JOINABLE.len()]);

/// A process whose namespaces a set was taken from, through a pidfd: the set is
/// entered through it in one `setns`, all or nothing, while it still matches.
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) pidfd: OwnedFd,
}

/// One or more namespaces of distinct, joinable kinds.
pub(crate) struct Target {
    key: TargetKey,
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
            key: TargetKey(id),
            members,
            process,
        })
    }

    /// One namespace, if a thread can join its kind.
    pub(crate) fn single(ns: Arc<Namespace>) -> Option<Target> {
        let mut id = [None; JOINABLE.len()];
        id[slot(ns.kind())?] = Some(ns.id());
        Some(Target {
            key: TargetKey(id),
            members: vec![ns],
            process: None,
        })
    }

    pub(crate) fn includes(&self, kind: NsKind) -> bool {
        slot(kind).is_some_and(|at| self.key.0[at].is_some())
    }

    pub(crate) fn key(&self) -> TargetKey {
        self.key
    }

    /// The process's own namespaces of every joinable kind (its main thread's,
    /// `/proc/self/ns/*`): where runtime threads are when they serve nobody.
    pub(crate) fn process_home() -> Result<Target> {
        let members = JOINABLE
            .into_iter()
            .filter_map(|kind| {
                let path = format!("/proc/self/ns/{}", kind.proc_name());
                match crate::sys::NsFile::open(std::path::Path::new(&path), Some(kind)) {
                    // A kernel without this kind (no cgroup namespaces, say).
                    Err(Error::NotFound { .. }) => None,
                    other => Some(other.map(|file| {
                        Arc::new(Namespace {
                            file,
                            origin: crate::namespace::Origin::Pid(std::process::id()),
                        })
                    })),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Target::new(members, None)
    }

    /// The member of the kind in `slot` (of `JOINABLE`), if any.
    pub(crate) fn member(&self, slot: usize) -> Option<&Namespace> {
        let id = self.key.0[slot]?;
        self.members.iter().find(|ns| ns.id() == id).map(|ns| &**ns)
    }

    /// The process whose pidfd enters the members at once, if any.
    pub(crate) fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }

    /// (kind, inode) of every member: what `audit` expects of this target's threads.
    pub(crate) fn homes(&self) -> crate::registry::Homes {
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
}

impl TargetKey {
    /// The first namespace of this key the calling thread is not in: (kind, inode
    /// of the key's, inode found). One `stat` per member, no allocation.
    pub(crate) fn moved_away(&self) -> Option<(NsKind, u64, u64)> {
        if cfg!(loom) {
            return None; // loom threads never entered anything
        }
        JOINABLE.into_iter().zip(self.0).find_map(|(kind, home)| {
            let home = home?;
            match sys::thread_ns_id(kind) {
                Ok(now) if now != home => Some((kind, home.ino, now.ino)),
                // Could not tell (procfs unreadable): keep serving rather than guess.
                _ => None,
            }
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.process.as_ref().map(|process| process.pid);
        fmt_set(f, pid, self.members.iter().map(|ns| &**ns))
    }
}

/// How a target or a set is named in messages: its one member, or `namespaces of
/// pid PID (net inode N, ...)` / `namespace set (...)`.
pub(crate) fn fmt_set<'a>(
    f: &mut fmt::Formatter<'_>,
    pid: Option<u32>,
    members: impl ExactSizeIterator<Item = &'a Namespace>,
) -> fmt::Result {
    let mut members = members;
    if members.len() == 1 {
        return fmt::Display::fmt(members.next().expect("one member"), f);
    }
    match pid {
        Some(pid) => write!(f, "namespaces of pid {pid} (")?,
        None => f.write_str("namespace set (")?,
    }
    for (i, ns) in members.enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{} inode {}", ns.kind(), ns.id().ino)?;
    }
    f.write_str(")")
}
