//! `NsSet`: several namespaces of distinct kinds, entered together by the threads
//! that serve them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::handle::sealed::Sealed;
use crate::handle::{Namespaces, Ns};
use crate::kind::NsKind;
use crate::runtime::{Anchor, AnchorRef};
use crate::target::{Process, Target, JOINABLE};

/// Several namespaces of distinct kinds that a namespace thread enters together,
/// e.g. net + uts + mnt: the unit the threads of a pool live in. Threads are shared
/// by every handle to the same set (compared member by member).
///
/// ```no_run
/// use ns_runtime::{Namespaces, NetNs, Ns, NsKind, NsSet};
///
/// # fn main() -> Result<(), ns_runtime::Error> {
/// let set = NsSet::new([NetNs::create()?.into(), Ns::create(NsKind::Uts)?])?;
/// set.set_hostname("box")?;
/// let (host, links) = set.run(|| {
///     (nix::unistd::gethostname(), std::fs::read_to_string("/proc/thread-self/net/dev"))
/// })?;
/// # let _ = (host, links);
/// # Ok(())
/// # }
/// ```
#[must_use = "a set does nothing unless code runs in it"]
#[derive(Clone)]
pub struct NsSet {
    shared: Arc<Shared>,
}

struct Shared {
    /// In the order a thread enters them.
    members: Vec<Ns>,
    anchor: AnchorRef,
}

impl NsSet {
    /// A set of `members`, at most one per kind.
    ///
    /// ```no_run
    /// use ns_runtime::{Error, NetNs, Ns, NsKind, NsSet};
    ///
    /// # fn main() -> Result<(), Error> {
    /// let (net, uts) = (NetNs::create()?, Ns::create(NsKind::Uts)?);
    /// let set = NsSet::new([net.clone().into(), uts])?;
    /// assert_eq!(set.get(NsKind::Net), Some(net.as_ns()));
    /// let twice = NsSet::new([net.clone().into(), net.into()]);
    /// assert!(matches!(twice, Err(Error::DuplicateKind { .. })));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotJoinable`] for a user, pid or time namespace (no thread of a
    /// multi-threaded process can join those), [`Error::DuplicateKind`],
    /// [`Error::EmptySet`].
    pub fn new(members: impl IntoIterator<Item = Ns>) -> Result<NsSet> {
        NsSet::with_process(members.into_iter().collect(), None)
    }

    fn with_process(mut members: Vec<Ns>, process: Option<Process>) -> Result<NsSet> {
        let namespaces = members
            .iter()
            .map(|ns| Arc::clone(ns.namespace()))
            .collect();
        let target = Target::new(namespaces, process)?;
        members.sort_by_key(|ns| JOINABLE.iter().position(|&kind| kind == ns.kind()));
        Ok(NsSet {
            shared: Arc::new(Shared {
                members,
                anchor: AnchorRef::new(Anchor::intern(target)),
            }),
        })
    }

    /// Every namespace of process `pid` that a thread can join: net, uts, ipc,
    /// cgroup and mnt (what `nsenter --all --target PID` enters, minus user, pid and
    /// time, which need a child process). Threads enter them all at once through a
    /// pidfd (`setns(pidfd, ..)`, Linux 5.8) while the process lives in them, and
    /// one by one through the files opened here otherwise.
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, NsSet};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pid = 1234; // a process in a container
    /// let set = NsSet::of_pid(pid)?;
    /// let (host, dev) = set.run(|| {
    ///     (nix::unistd::gethostname(), std::fs::read_to_string("/proc/thread-self/net/dev"))
    /// })?;
    /// println!("{host:?} sees {} interfaces", dev?.lines().count() - 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such process, or it has exited and is
    /// not reaped yet (a zombie has no namespaces left).
    pub fn of_pid(pid: u32) -> Result<NsSet> {
        let pidfd = pidfd_open(pid)?;
        let members = JOINABLE
            .into_iter()
            .filter_map(|kind| match Ns::of_pid(pid, kind) {
                // A kernel without this kind (no cgroup namespaces, say): leave it
                // out. Any other missing member (a zombie lists every link, but
                // none can be opened) means the process is gone.
                Err(Error::NotFound { .. }) if !kernel_has(kind) => None,
                other => Some(other),
            })
            .collect::<Result<Vec<Ns>>>()?;
        // Opened through /proc/PID after the pidfd: if the process still lives, the
        // files are its and not those of a later process that reused the pid.
        if !process_exists(pid) {
            return Err(Error::NotFound {
                path: format!("/proc/{pid}").into(),
            });
        }
        let process = pidfd.map(|pidfd| Process { pid, pidfd });
        NsSet::with_process(members, process)
    }

    /// The member of `kind`, if the set has one.
    ///
    /// ```no_run
    /// use ns_runtime::{NsKind, NsSet};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let set = NsSet::of_pid(std::process::id())?;
    /// let net = set.get(NsKind::Net).expect("every process has a network namespace");
    /// # let _ = net;
    /// assert!(set.get(NsKind::User).is_none()); // never a member: not joinable
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn get(&self, kind: NsKind) -> Option<&Ns> {
        self.shared.members.iter().find(|ns| ns.kind() == kind)
    }

    /// The members, in the order a thread enters them (mount last).
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind, NsSet};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let set = NsSet::new([Ns::create(NsKind::Mnt)?, Ns::create(NsKind::Uts)?])?;
    /// let kinds: Vec<NsKind> = set.members().iter().map(Ns::kind).collect();
    /// assert_eq!(kinds, [NsKind::Uts, NsKind::Mnt]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn members(&self) -> &[Ns] {
        &self.shared.members
    }
}

crate::handle::run_methods!(
    NsSet,
    "that is in every member",
    "NsSet::new([NetNs::create()?.into(), Ns::create(NsKind::Uts)?])?"
);

/// A pidfd for `pid`, or `None` if the kernel has none (before 5.3).
fn pidfd_open(pid: u32) -> Result<Option<OwnedFd>> {
    let raw_pid = libc::pid_t::try_from(pid).map_err(|_| Error::NotFound {
        path: format!("/proc/{pid}").into(),
    })?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; it
    // touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0) };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ESRCH) => Err(Error::NotFound {
                path: format!("/proc/{pid}").into(),
            }),
            Some(libc::ENOSYS) => Ok(None),
            _ => Err(Error::syscall("pidfd_open", format_args!("pid {pid}"), err)),
        };
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns; a pidfd fits an i32.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

/// Whether this kernel has namespaces of `kind`: the calling thread, which is
/// alive, then has a link for it.
fn kernel_has(kind: NsKind) -> bool {
    let link = format!("/proc/thread-self/ns/{}", kind.proc_name());
    std::path::Path::new(&link).exists()
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}/ns")).exists()
}

impl Sealed for NsSet {
    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    fn anchor(&self) -> Result<&Anchor> {
        Ok(&self.shared.anchor)
    }
}

impl Namespaces for NsSet {}

impl PartialEq for NsSet {
    fn eq(&self, other: &NsSet) -> bool {
        std::ptr::eq(&*self.shared.anchor, &*other.shared.anchor)
    }
}

impl Eq for NsSet {}

impl Hash for NsSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shared.anchor.target().key().hash(state);
    }
}

impl fmt::Debug for NsSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.shared.members).finish()
    }
}

impl fmt::Display for NsSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self.shared.anchor.target(), f)
    }
}
