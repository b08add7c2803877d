//! `NsSet`: several namespaces of distinct kinds, entered together by the threads
//! that serve them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::handle::sealed::Sealed;
use crate::handle::{Namespaces, Ns};
use crate::kind::NsKind;
use crate::namespace::Namespace;
use crate::runtime::{Anchor, AnchorRef};
use crate::target::{Process, Target, JOINABLE};

/// Several namespaces of distinct kinds, e.g. net + uts + mnt: entered together by
/// the runtime's threads (the unit their pools live in), or by a child process.
/// Threads are shared by every handle to the same set (compared member by member).
///
/// A set may also hold user, pid and time namespaces, which no thread of a
/// multi-threaded process can join: a child process can
/// ([`Namespaces::spawn`], `output`, `status`), while `run` and the conveniences
/// built on it return [`Error::NotJoinable`].
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
    /// The joinable kinds in the order a thread enters them, then pid, user, time.
    members: Vec<Ns>,
    /// What runtime threads serve; `None` when a member is of a kind no thread
    /// can join (user, pid, time): such a set is entered by child processes only.
    anchor: Option<AnchorRef>,
    /// The process the members were taken from, for messages.
    pid: Option<u32>,
}

/// Where a member goes in [`NsSet::members`]: joinable kinds first, in the order
/// a thread enters them (mount last), then the kinds only a process can enter.
fn order(kind: NsKind) -> usize {
    crate::target::slot(kind).unwrap_or_else(|| {
        JOINABLE.len()
            + [NsKind::Pid, NsKind::User, NsKind::Time]
                .iter()
                .position(|&k| k == kind)
                .unwrap_or(3)
    })
}

impl NsSet {
    /// A set of `members`, at most one per kind. User, pid and time namespaces
    /// are accepted: a child process can enter them ([`Namespaces::spawn`]), a
    /// thread cannot (`run` on such a set returns [`Error::NotJoinable`]).
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
    /// [`Error::DuplicateKind`], [`Error::EmptySet`].
    pub fn new(members: impl IntoIterator<Item = Ns>) -> Result<NsSet> {
        NsSet::with_process(members.into_iter().collect(), None, None)
    }

    fn with_process(
        mut members: Vec<Ns>,
        process: Option<Process>,
        pid: Option<u32>,
    ) -> Result<NsSet> {
        if members.is_empty() {
            return Err(Error::EmptySet);
        }
        members.sort_by_key(|ns| order(ns.kind()));
        if let Some(pair) = members.windows(2).find(|w| w[0].kind() == w[1].kind()) {
            return Err(Error::DuplicateKind {
                kind: pair[0].kind(),
            });
        }
        let anchor = if members.iter().all(|ns| ns.kind().thread_joinable()) {
            let namespaces = members
                .iter()
                .map(|ns| Arc::clone(ns.namespace()))
                .collect();
            let target = Target::new(namespaces, process)?;
            Some(AnchorRef::new(Anchor::intern(target)))
        } else {
            None
        };
        Ok(NsSet {
            shared: Arc::new(Shared {
                members,
                anchor,
                pid,
            }),
        })
    }

    /// Every namespace of process `pid` that a thread can join: net, uts, ipc,
    /// cgroup and mnt (what `nsenter --all --target PID` enters, minus user, pid and
    /// time, which need a child process: see [`NsSet::of_pid_all`]). Threads enter
    /// them all at once through a pidfd (`setns(pidfd, ..)`, Linux 5.8) while the
    /// process lives in them, and one by one through the files opened here
    /// otherwise.
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
        NsSet::of_process(pid, &JOINABLE, false)
    }

    /// Every namespace of process `pid`, all eight kinds, leaving out those this
    /// process is in already. (`nsenter --all --target PID` leaves out a shared
    /// user namespace, which the kernel refuses to let a process join again, and
    /// enters the other shared ones again: a no-op that needs `CAP_SYS_ADMIN` and
    /// resets the cwd to `/`. Left out, they need nothing, so that the owner of a
    /// user namespace can enter it without privileges.) For child processes:
    /// [`Namespaces::spawn`] starts a program that sees what process `pid` sees,
    /// its own pid inside `pid`'s pid namespace. A set that holds a user, pid or
    /// time namespace cannot be run in (`run` returns [`Error::NotJoinable`]); use
    /// [`NsSet::of_pid`] for that.
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use ns_runtime::{Namespaces, NsSet};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let pid = 1234; // a container's first process, say
    /// let set = NsSet::of_pid_all(pid)?;
    /// let out = set.output(Command::new("ps").arg("-ef"))?; // its processes only
    /// print!("{}", String::from_utf8_lossy(&out.stdout));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such process (or only its zombie);
    /// [`Error::EmptySet`] if it shares every namespace with this process.
    pub fn of_pid_all(pid: u32) -> Result<NsSet> {
        NsSet::of_process(pid, &NsKind::ALL, true)
    }

    fn of_process(pid: u32, kinds: &[NsKind], leave_out_shared: bool) -> Result<NsSet> {
        let pidfd = pidfd_open(pid)?;
        let members = kinds
            .iter()
            .filter_map(|&kind| match Ns::of_pid(pid, kind) {
                // A kernel without this kind (no cgroup namespaces, say): leave it
                // out. Any other missing member (a zombie lists every link, but
                // none can be opened) means the process is gone.
                Err(Error::NotFound { .. }) if !kernel_has(kind) => None,
                Ok(ns) if leave_out_shared && ours(&ns) => None,
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
        NsSet::with_process(members, process, Some(pid))
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

    /// The members: the kinds a thread can join in the order a thread enters
    /// them (mount last), then pid, user and time.
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

/// Whether this process is in `ns` already (its main thread's namespace of that
/// kind, which runtime threads and the threads that fork children share).
fn ours(ns: &Ns) -> bool {
    let path = format!("/proc/self/ns/{}", ns.kind().proc_name());
    nix::sys::stat::stat(path.as_str()).is_ok_and(|stat| {
        let id = ns.namespace().id();
        (stat.st_dev, stat.st_ino) == (id.dev, id.ino)
    })
}

crate::handle::run_methods!(
    NsSet,
    "that is in every member",
    "NsSet::new([NetNs::create()?.into(), Ns::create(NsKind::Uts)?])?"
);

/// A pidfd for `pid`, or `None` if the kernel has none (before 5.3).
fn pidfd_open(pid: u32) -> Result<Option<OwnedFd>> {
    let gone = || Error::NotFound {
        path: format!("/proc/{pid}").into(),
    };
    let raw_pid = libc::pid_t::try_from(pid).map_err(|_| gone())?;
    match crate::sys::pidfd_open(raw_pid) {
        Ok(fd) => Ok(Some(fd)),
        Err(err) => match err.raw_os_error() {
            Some(libc::ESRCH) => Err(gone()),
            Some(libc::ENOSYS) => Ok(None),
            _ => Err(Error::syscall("pidfd_open", format_args!("pid {pid}"), err)),
        },
    }
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
        self.shared.anchor.as_deref().ok_or_else(|| {
            let kind = self
                .shared
                .members
                .iter()
                .map(Ns::kind)
                .find(|kind| !kind.thread_joinable())
                .unwrap_or(NsKind::User);
            Error::not_joinable(kind)
        })
    }

    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    fn namespaces(&self) -> Vec<Arc<Namespace>> {
        let members = self.shared.members.iter();
        members.map(|ns| Arc::clone(ns.namespace())).collect()
    }
}

impl Namespaces for NsSet {}

impl PartialEq for NsSet {
    fn eq(&self, other: &NsSet) -> bool {
        match (&self.shared.anchor, &other.shared.anchor) {
            (Some(ours), Some(theirs)) => std::ptr::eq(&**ours, &**theirs),
            _ => self.shared.members == other.shared.members,
        }
    }
}

impl Eq for NsSet {}

impl Hash for NsSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shared.members.hash(state);
    }
}

impl fmt::Debug for NsSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.shared.members).finish()
    }
}

impl fmt::Display for NsSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members = self.shared.members.iter().map(|ns| &**ns.namespace());
        crate::target::fmt_set(f, self.shared.pid, members)
    }
}
