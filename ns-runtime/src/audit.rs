//! Which threads of this process sit in other namespaces than the main thread, and
//! which namespace threads were found moved and retired.
//!
//! `lsns` and `/proc/PID/ns` show only a process's main thread; a thread moved by
//! `setns` is invisible there. This reads `/proc/self/task/*/ns/*` instead.

use std::fs;

use crate::error::{Error, Result};
use crate::kind::NsKind;
use crate::registry::{AuditGuard, Damage};

/// A thread found in another namespace than the main thread's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StrayThread {
    /// The thread's id (as in `/proc/self/task/TID`).
    pub tid: u32,
    /// The thread's name (`comm`).
    pub name: String,
    /// The kinds in which it differs from where it should be.
    pub differences: Vec<NsDifference>,
    /// Whether it is a namespace thread of this crate (then it left its home).
    pub namespace_thread: bool,
}

/// One kind of namespace in which a thread is not where it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NsDifference {
    /// The kind.
    pub kind: NsKind,
    /// The inode it should be in: the main thread's, or a namespace thread's home.
    pub expected_inode: u64,
    /// The inode it is in.
    pub actual_inode: u64,
}

/// A runtime thread that a body damaged through code the attribute cannot see
/// (moved it to another namespace, or gave it an fd table or fs struct of its
/// own), and that was therefore retired instead of being reused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetiredThread {
    /// The thread's id.
    pub tid: u32,
    /// The kind of namespace it was moved in (for [`RetireReason::Moved`]; for
    /// the other reasons `Net`, with both inodes 0).
    pub kind: NsKind,
    /// The namespace it served.
    pub home_inode: u64,
    /// Where it was found.
    pub found_inode: u64,
    /// What the body did.
    pub reason: RetireReason,
}

/// What a body did to a runtime thread that was then retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetireReason {
    /// Moved it to another namespace (`setns`, `unshare(CLONE_NEW*)`).
    Moved,
    /// Gave it an fd table of its own (`unshare(CLONE_FILES)`): fds it returns
    /// would not be the caller's.
    FdTable,
    /// Gave it a cwd, root and umask of its own (`unshare(CLONE_FS)`).
    FsStruct,
}

/// The result of [`audit`].
#[must_use = "an audit reports each retired thread once: look at it (e.g. `is_clean()`)"]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Audit {
    /// How many threads were looked at.
    pub threads_checked: usize,
    /// Threads in other namespaces than they should be.
    pub strays: Vec<StrayThread>,
    /// Namespace threads retired since the last audit because they had moved.
    pub retired: Vec<RetiredThread>,
}

impl Audit {
    /// No stray thread and no retired namespace thread.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.strays.is_empty() && self.retired.is_empty()
    }
}

/// Lists the threads of this process that sit in a namespace other than the main
/// thread's and are not namespace threads at home, and the namespace threads
/// retired since the last call (each is reported once).
///
/// ```no_run
/// # fn main() -> Result<(), ns_runtime::Error> {
/// let ns = ns_runtime::NetNs::create()?;
/// ns.run(|| { /* work inside */ })?;
/// let audit = ns_runtime::audit()?;
/// assert!(audit.is_clean(), "{audit:#?}");
/// # Ok(())
/// # }
/// ```
pub fn audit() -> Result<Audit> {
    let main: Vec<(NsKind, Option<u64>)> = NsKind::ALL
        .into_iter()
        .map(|kind| {
            (
                kind,
                link_inode(&format!("/proc/self/ns/{}", kind.proc_name())),
            )
        })
        .collect();
    let guard = AuditGuard::begin();
    let tasks: Vec<u32> = fs::read_dir("/proc/self/task")
        .map_err(|e| Error::syscall("readdir", "/proc/self/task", e))?
        .flatten()
        .filter_map(|task| task.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    let mut seen = Vec::with_capacity(tasks.len());
    for tid in tasks {
        let links: Vec<(NsKind, Option<u64>)> = NsKind::ALL
            .into_iter()
            .map(|kind| {
                let path = format!("/proc/self/task/{tid}/ns/{}", kind.proc_name());
                (kind, link_inode(&path))
            })
            .collect();
        seen.push((tid, links));
    }
    // Read after the scan: every thread the scan found in a namespace of its own
    // had registered before it entered, and nothing is swept until `guard` drops.
    let homes = guard.runtime_threads();
    let retired = guard.take_retired();
    drop(guard);
    let mut audit = Audit {
        threads_checked: seen.len(),
        ..Audit::default()
    };
    for (tid, links) in seen {
        let home = homes.iter().find(|home| home.tid == tid);
        if home.is_some_and(|home| home.moving) {
            continue; // on its way between two places: wherever it is, it is ours
        }
        let mut differences = Vec::new();
        for (&(kind, main_inode), &(_, actual)) in main.iter().zip(&links) {
            // A thread can exit while we look; a kind the kernel lacks has no link.
            let (Some(actual), Some(main_inode)) = (actual, main_inode) else {
                continue;
            };
            let expected = match home.map(|home| home.homes.iter().find(|(k, _)| *k == kind)) {
                Some(Some(&(_, Some(inode)))) => inode,
                // A helper creating a namespace of this kind: anywhere is right.
                Some(Some(&(_, None))) => continue,
                _ => main_inode,
            };
            // A runtime thread may have moved between the scan and the registry
            // read (which is newer): a fresh read is the truth.
            let actual = if actual != expected && home.is_some() {
                let path = format!("/proc/self/task/{tid}/ns/{}", kind.proc_name());
                match link_inode(&path) {
                    Some(now) => now,
                    None => continue, // gone meanwhile
                }
            } else {
                actual
            };
            if actual != expected {
                differences.push(NsDifference {
                    kind,
                    expected_inode: expected,
                    actual_inode: actual,
                });
            }
        }
        if !differences.is_empty() {
            let name = fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .map(|n| n.trim_end().to_owned())
                .unwrap_or_default();
            audit.strays.push(StrayThread {
                tid,
                name,
                differences,
                namespace_thread: home.is_some(),
            });
        }
    }
    audit.retired = retired
        .into_iter()
        .map(|(tid, damage)| {
            let (kind, home_inode, found_inode, reason) = match damage {
                Damage::Moved(kind, home, found) => (kind, home, found, RetireReason::Moved),
                Damage::FdTable => (NsKind::Net, 0, 0, RetireReason::FdTable),
                Damage::FsStruct => (NsKind::Net, 0, 0, RetireReason::FsStruct),
            };
            RetiredThread {
                tid,
                kind,
                home_inode,
                found_inode,
                reason,
            }
        })
        .collect();
    Ok(audit)
}

/// The inode in a `kind:[INODE]` namespace link.
fn link_inode(path: &str) -> Option<u64> {
    let target = fs::read_link(path).ok()?;
    let target = target.to_str()?;
    let inner = target.split_once(":[")?.1.strip_suffix(']')?;
    inner.parse().ok()
}
