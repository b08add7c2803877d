//! `Ns`: a handle to a namespace of any kind, and `Namespaces`: what namespace
//! threads can live in (a `NetNs`, an `Ns` of a joinable kind, an `NsSet`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::kind::NsKind;
use crate::namespace::{Namespace, Origin};
use crate::runtime::{Anchor, AnchorRef, Runtime};
use crate::sys::{self, NsFile};
use crate::target::Target;

pub(crate) mod sealed {
    /// Keeps [`Namespaces`](super::Namespaces) implemented by this crate's handles only.
    pub trait Sealed: std::fmt::Display {
        /// What a runtime thread serving this handle enters (shared by every
        /// handle to the same namespaces), or why none can.
        #[allow(private_interfaces)] // sealed: nobody outside can name or call it
        fn anchor(&self) -> crate::Result<&crate::runtime::Anchor>;

        /// Every namespace of the handle, of any kind: what a child process enters.
        #[allow(private_interfaces)] // sealed: nobody outside can name or call it
        fn namespaces(&self) -> Vec<std::sync::Arc<crate::namespace::Namespace>>;

        /// Succeeds if the handle includes a namespace of `kind`.
        fn require(&self, kind: crate::NsKind) -> crate::Result<()> {
            if self.anchor()?.target().includes(kind) {
                Ok(())
            } else {
                Err(crate::Error::MissingKind {
                    target: self.to_string(),
                    kind,
                })
            }
        }
    }
}

/// What namespace threads can live in: a [`NetNs`](crate::NetNs), an [`Ns`] of a
/// kind a thread can join (net, uts, ipc, cgroup, mnt), or an [`NsSet`](crate::NsSet)
/// of several. [`Runtime::run`] takes any of them; the methods here are
/// conveniences built on it, through the global runtime ([`Runtime::global`]:
/// configure it with [`Builder::build_global`](crate::Builder::build_global)
/// before the first call). Through a runtime of your own, the same conveniences
/// are on [`Runtime::on`]: `rt.on(&set).hostname()`.
///
/// ```no_run
/// use ns_runtime::{Namespaces, NsKind, NsSet};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pid = 1; // any process
/// let set = NsSet::of_pid(pid)?;
/// println!("its hostname: {}", set.hostname()?);
/// for mount in set.mounts()? {
///     println!("{} on {} type {}", mount.source, mount.target.display(), mount.fstype);
/// }
/// let routes = set.read_to_string("/proc/thread-self/net/route")?;
/// # let _ = routes;
/// # Ok(())
/// # }
/// ```
pub trait Namespaces: sealed::Sealed + fmt::Display {
    /// Reads a file as a thread inside sees it: paths resolve in the mount
    /// namespace, `/proc/thread-self/net/*` shows the network namespace, and so on.
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, NetNs};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let ns = NetNs::create()?;
    /// let interfaces = ns.read_to_string("/proc/thread-self/net/dev")?;
    /// assert!(interfaces.contains("lo:")); // a new namespace has only `lo`
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of reading the file, or of entering.
    fn read_to_string(&self, path: impl AsRef<Path>) -> io::Result<String> {
        Runtime::global().on(self).read_to_string(path)
    }

    /// The hostname inside (`gethostname(2)` in the uts namespace).
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, NsSet};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let container = NsSet::of_pid(1234)?; // a containerised process
    /// println!("it calls itself {}", container.hostname()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a uts namespace; otherwise those of entering.
    fn hostname(&self) -> Result<String> {
        self.require(NsKind::Uts)?; // before the global runtime is made
        Runtime::global().on(self).hostname()
    }

    /// Sets the hostname inside (`sethostname(2)` in the uts namespace); the
    /// host's stays as it is.
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, Ns, NsKind};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let uts = Ns::create(NsKind::Uts)?; // starts with a copy of the host's name
    /// uts.set_hostname("sandbox")?;
    /// assert_eq!(uts.hostname()?, "sandbox");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a uts namespace; [`Error::PermissionDenied`]
    /// without `CAP_SYS_ADMIN` in it.
    fn set_hostname(&self, name: &str) -> Result<()> {
        self.require(NsKind::Uts)?; // before the global runtime is made
        Runtime::global().on(self).set_hostname(name)
    }

    /// The mount table as threads inside see it (`/proc/thread-self/mounts`).
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, Ns, NsKind};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let mnt = Ns::of_pid(std::process::id(), NsKind::Mnt)?;
    /// let root = mnt.mounts()?.into_iter().find(|m| m.target == std::path::Path::new("/"));
    /// println!("this process's root: {root:?}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a mount namespace; otherwise those of reading
    /// or entering.
    fn mounts(&self) -> Result<Vec<Mount>> {
        self.require(NsKind::Mnt)?; // before the global runtime is made
        Runtime::global().on(self).mounts()
    }

    /// Starts `cmd` as a child process in every namespace of this handle, user,
    /// pid and time included, and returns it. No thread of yours moves.
    ///
    /// The child joins the namespaces as it starts, before anything of `cmd`
    /// happens: its `current_dir` is resolved inside the handle's mount namespace
    /// (without one, a child in another mount namespace starts in its root `/`,
    /// as with `nsenter`), its program is looked up in `PATH` there, and the
    /// `pre_exec` hooks already added to `cmd` run inside, after entering.
    /// Arguments, environment, stdio, `uid`/`gid` (applied inside, after
    /// entering), exit status, `kill` and `wait` work as for
    /// [`Command::spawn`](std::process::Command::spawn); the child is this
    /// process's child, waited for from any thread.
    ///
    /// What each kind needs:
    /// - net, uts, ipc, cgroup, mnt, user and time are joined by the child
    ///   itself, in the order `nsenter` uses: every kind but user, then user and
    ///   those that failed before it. A caller with `CAP_SYS_ADMIN` enters them
    ///   all; the owner of a user namespace, without privileges outside, enters
    ///   it and then the namespaces it owns. Having joined a user namespace, the
    ///   child becomes its uid and gid 0 and drops supplementary groups, as
    ///   `nsenter` does.
    /// - pid: a process is put in a pid namespace by the thread that forks it
    ///   (its `pid_for_children`), and a thread that joined one cannot create
    ///   threads any more. So a handle with a pid namespace forks its child
    ///   from a helper thread of its own (born from the process's namespaces,
    ///   with the caller's signal mask and CPU set given to the child), which
    ///   needs `CAP_SYS_ADMIN` over that namespace and stays until the child
    ///   exits, so that a `PR_SET_PDEATHSIG` the child sets fires only when this
    ///   process dies. Other handles' children are forked by the calling
    ///   thread, as `Command::spawn` does: kinds the handle does not name are
    ///   those of that thread (or, with a pid namespace, of the process).
    /// - A network namespace opened by name ([`NetNs::named`](crate::NetNs::named),
    ///   [`NetNs::create_named`](crate::NetNs::create_named)), in a handle
    ///   without a mount namespace, gets what `ip netns exec NAME` gives: a mount
    ///   namespace of the child's own (slave to this one: your mounts are not
    ///   touched), `/sys` remounted to show the namespace's devices, and each
    ///   file of `/etc/netns/NAME/` bound over its `/etc` counterpart
    ///   (`resolv.conf`, `hosts`).
    ///
    /// std runs every `pre_exec` hook of a `Command` each time it spawns, and
    /// cannot remove one: each call adds a small hook to `cmd` that forces a
    /// real `fork` (`posix_spawn` would skip the entering) and checks that the
    /// child entered. It does nothing in a plain `cmd.spawn()`, but a `Command`
    /// spawned thousands of times gathers as many: make one per spawn.
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use ns_runtime::{Namespaces, NetNs};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ns = NetNs::named("blue")?; // made by `ip netns add blue`
    /// let mut child = ns.spawn(Command::new("ip").args(["link", "show"]))?;
    /// assert!(child.wait()?.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Typed, and before any program ran: [`Error::PermissionDenied`] or
    /// [`Error::Syscall`] naming the step that failed (`setns` on which
    /// namespace, `setuid(0)` after entering, a mount of `ip netns exec`) and its
    /// errno; [`Error::PidNamespaceGone`] when the pid namespace's init has
    /// exited; [`Error::Spawn`] for what `Command::spawn` itself reports (no
    /// such program, a `current_dir` missing inside, a hook's error). A child
    /// that could not enter is reaped, and the helper thread is gone.
    #[cfg(not(loom))]
    fn spawn(&self, cmd: &mut std::process::Command) -> Result<std::process::Child> {
        crate::process::launch(self.namespaces(), self, crate::process::Spawn(cmd))
    }

    /// Runs `cmd` in every namespace of this handle and collects its output, as
    /// [`Command::output`](std::process::Command::output) does (stdout and
    /// stderr piped, stdin null, unless `cmd` says otherwise); see
    /// [`Namespaces::spawn`] for how the child enters.
    ///
    /// # Errors
    /// As [`Namespaces::spawn`]; a program that ran and failed is not an error
    /// (see the output's `status`).
    #[cfg(not(loom))]
    fn output(&self, cmd: &mut std::process::Command) -> Result<std::process::Output> {
        crate::process::launch(self.namespaces(), self, crate::process::OutputOf(cmd))
    }

    /// Runs `cmd` in every namespace of this handle and waits for it, as
    /// [`Command::status`](std::process::Command::status) does (stdio
    /// inherited unless `cmd` says otherwise); see [`Namespaces::spawn`].
    ///
    /// # Errors
    /// As [`Namespaces::spawn`].
    #[cfg(not(loom))]
    fn status(&self, cmd: &mut std::process::Command) -> Result<std::process::ExitStatus> {
        crate::process::launch(self.namespaces(), self, crate::process::StatusOf(cmd))
    }

    /// [`Namespaces::spawn`] for a [`tokio::process::Command`]: the child is
    /// registered with the calling task's tokio runtime, so that
    /// `child.wait().await` and `wait_with_output().await` work (the calling
    /// thread must be in a tokio runtime, as for tokio's own `spawn`). Like
    /// tokio's `spawn`, it returns once the program has started (about a
    /// millisecond): it does not wait for the program.
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, NsSet};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let set = NsSet::of_pid_all(1234)?;
    /// let mut cmd = tokio::process::Command::new("hostname");
    /// let out = set.spawn_tokio(cmd.stdout(std::process::Stdio::piped()))?;
    /// let out = out.wait_with_output().await?;
    /// # let _ = out;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Namespaces::spawn`].
    ///
    /// # Panics
    /// Outside a tokio runtime, as tokio's `spawn` does.
    #[cfg(all(feature = "tokio", not(loom)))]
    fn spawn_tokio(&self, cmd: &mut tokio::process::Command) -> Result<tokio::process::Child> {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let job = crate::process::SpawnTokio {
            command: cmd,
            runtime,
        };
        crate::process::launch(self.namespaces(), self, job)
    }
}

/// One line of a mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mount {
    /// What is mounted (a device, `tmpfs`, `proc`, ...).
    pub source: String,
    /// Where.
    pub target: PathBuf,
    /// The file system type.
    pub fstype: String,
    /// The mount options, comma-separated.
    pub options: String,
}

impl Mount {
    /// Parses a line of `/proc/*/mounts` (fields escape space, tab, newline and
    /// backslash as octal `\040`, ...).
    pub(crate) fn parse(line: &str) -> Option<Mount> {
        let mut fields = line.split(' ').map(unescape);
        Some(Mount {
            source: fields.next()?,
            target: PathBuf::from(fields.next()?),
            fstype: fields.next()?,
            options: fields.next()?,
        })
    }
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A handle to a namespace of any kind.
///
/// Cloning is cheap; handles compare equal when they refer to the same namespace;
/// while a handle exists, the namespace exists. Code runs inside with [`Ns::run`]
/// on a namespace thread of its own, as for [`NetNs`](crate::NetNs). A handle to a
/// user, pid or time namespace can be opened and compared, but not run in: no
/// thread of a multi-threaded process can join those ([`Error::NotJoinable`] says
/// why and what to do instead).
///
/// ```no_run
/// use ns_runtime::{Namespaces, Ns, NsKind};
///
/// # fn main() -> Result<(), ns_runtime::Error> {
/// let uts = Ns::create(NsKind::Uts)?;
/// uts.set_hostname("inside")?;
/// assert_eq!(uts.hostname()?, "inside"); // the host's hostname is unchanged
/// # Ok(())
/// # }
/// ```
// Must use: a handle that is made and dropped did nothing (a created namespace is
// freed at once). Not on `NetNs`, whose `create_named` leaves a namespace behind.
#[must_use = "a namespace handle does nothing unless code runs in it; a namespace is freed with its last handle"]
#[derive(Clone)]
pub struct Ns {
    shared: Arc<Shared>,
}

struct Shared {
    ns: Arc<Namespace>,
    /// `None` for the kinds no thread of ours can join.
    anchor: Option<AnchorRef>,
}

impl Ns {
    pub(crate) fn from_namespace(ns: Namespace) -> Ns {
        let ns = Arc::new(ns);
        let anchor =
            Target::single(Arc::clone(&ns)).map(|target| AnchorRef::new(Anchor::intern(target)));
        Ns {
            shared: Arc::new(Shared { ns, anchor }),
        }
    }

    fn open(path: &Path, kind: Option<NsKind>, origin: Origin) -> Result<Ns> {
        let file = NsFile::open(path, kind)?;
        Ok(Ns::from_namespace(Namespace { file, origin }))
    }

    /// Opens the namespace file at `path` (`/proc/PID/ns/KIND`, a bind mount of
    /// one), whatever its kind.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let ns = ns_runtime::Ns::from_path("/proc/self/ns/uts")?;
    /// println!("{} namespace, inode {}", ns.kind(), ns.inode());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if nothing is there, [`Error::NotANamespace`] for any
    /// other file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Ns> {
        let path = path.as_ref();
        Ns::open(path, None, Origin::Path(path.to_owned()))
    }

    /// Opens the namespace file at `path` and checks that it is of `kind`.
    ///
    /// ```no_run
    /// use ns_runtime::{Error, Ns, NsKind};
    ///
    /// # fn main() -> Result<(), Error> {
    /// let ipc = Ns::from_path_of_kind("/proc/self/ns/ipc", NsKind::Ipc)?;
    /// # let _ = ipc;
    /// let wrong = Ns::from_path_of_kind("/proc/self/ns/ipc", NsKind::Net);
    /// assert!(matches!(wrong, Err(Error::WrongKind { .. })));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Ns::from_path`], and [`Error::WrongKind`] for another kind.
    pub fn from_path_of_kind(path: impl AsRef<Path>, kind: NsKind) -> Result<Ns> {
        let path = path.as_ref();
        Ns::open(path, Some(kind), Origin::Path(path.to_owned()))
    }

    /// Opens the namespace of `kind` of process `pid` (of its main thread).
    ///
    /// ```no_run
    /// use ns_runtime::{Namespaces, Ns, NsKind};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let uts = Ns::of_pid(1234, NsKind::Uts)?;
    /// println!("process 1234's hostname: {}", uts.hostname()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such process (or it has exited);
    /// [`Error::PermissionDenied`] for another user's process without
    /// `CAP_SYS_PTRACE`.
    pub fn of_pid(pid: u32, kind: NsKind) -> Result<Ns> {
        let path = format!("/proc/{pid}/ns/{}", kind.proc_name());
        Ns::open(Path::new(&path), Some(kind), Origin::Pid(pid))
    }

    /// Opens the namespace of `kind` of the *calling thread*.
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let uts = Ns::create(NsKind::Uts)?;
    /// assert_eq!(uts.run(|| Ns::current(NsKind::Uts))??, uts);
    /// assert_ne!(Ns::current(NsKind::Uts)?, uts); // this thread did not move
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of opening `/proc/thread-self/ns/KIND` (no `/proc` mounted, say).
    pub fn current(kind: NsKind) -> Result<Ns> {
        let file = sys::current_thread_ns(kind)?;
        Ok(Ns::from_namespace(Namespace {
            file,
            origin: Origin::Thread,
        }))
    }

    /// Creates a new, anonymous namespace of `kind` on a helper thread (the calling
    /// thread does not move). A new mount namespace starts as a copy of the
    /// caller's with every mount made private, so mounts made inside stay inside
    /// (what `unshare --mount` does).
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mnt = Ns::create(NsKind::Mnt)?;
    /// mnt.run(|| {
    ///     nix::mount::mount(Some("tmpfs"), "/mnt", Some("tmpfs"), nix::mount::MsFlags::empty(), None::<&str>)
    /// })??; // a tmpfs on /mnt that only threads in `mnt` see
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotJoinable`] for user, pid and time (nothing is created);
    /// [`Error::PermissionDenied`] without `CAP_SYS_ADMIN`.
    pub fn create(kind: NsKind) -> Result<Ns> {
        if !kind.thread_joinable() {
            return Err(Error::not_joinable(kind));
        }
        let file = crate::create::unshare_on_helper_thread(kind)?;
        Ok(Ns::from_namespace(Namespace {
            file,
            origin: Origin::Anonymous,
        }))
    }

    /// The kind of this namespace.
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// assert_eq!(Ns::from_path("/proc/self/ns/ipc")?.kind(), NsKind::Ipc);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn kind(&self) -> NsKind {
        self.shared.ns.kind()
    }

    /// The inode number of the namespace (as in `readlink /proc/PID/ns/KIND`).
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let uts = Ns::of_pid(std::process::id(), NsKind::Uts)?;
    /// let link = std::fs::read_link("/proc/self/ns/uts")?;
    /// assert_eq!(link.to_str(), Some(format!("uts:[{}]", uts.inode()).as_str()));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn inode(&self) -> u64 {
        self.shared.ns.id().ino
    }

    pub(crate) fn namespace(&self) -> &Arc<Namespace> {
        &self.shared.ns
    }
}

/// `run` and `run_async` of a handle type other than `NetNs` (whose own are the
/// documented reference), through the global runtime.
macro_rules! run_methods {
    ($handle:ty, $where:literal, $make:literal) => {
        impl $handle {
            #[doc = concat!("Runs `f` on a namespace thread ", $where, "; see [`NetNs::run`](crate::NetNs::run).")]
            ///
            /// ```no_run
            /// use ns_runtime::{NetNs, Ns, NsKind, NsSet};
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!("let handle = ", $make, ";")]
            /// let hostname = handle.run(nix::unistd::gethostname)??; // as seen inside
            /// # let _ = hostname;
            /// # Ok(())
            /// # }
            /// ```
            ///
            /// # Errors
            /// [`Error::NotJoinable`](crate::Error::NotJoinable) for a user, pid or
            /// time namespace; otherwise only when no thread could enter.
            pub fn run<F, R>(&self, f: F) -> crate::Result<R>
            where
                F: FnOnce() -> R + Send,
                R: Send,
            {
                crate::Runtime::global().run(self, f)
            }

            #[doc = concat!("Runs the future that `f` makes on the async thread ", $where, "; see [`NetNs::run_async`](crate::NetNs::run_async).")]
            ///
            /// ```no_run
            /// use ns_runtime::{NetNs, Ns, NsKind, NsSet};
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!("let handle = ", $make, ";")]
            /// let hostname = handle
            ///     .run_async(|| async { nix::unistd::gethostname() })
            ///     .await??;
            /// # let _ = hostname;
            /// # Ok(())
            /// # }
            /// ```
            ///
            /// # Errors
            /// [`Error::NotJoinable`](crate::Error::NotJoinable) for a user, pid or
            /// time namespace; otherwise only when the namespaces could not be entered
            /// or no thread could be started.
            #[cfg(all(feature = "tokio", not(loom)))]
            #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
            pub fn run_async<F, Fut, R>(
                &self,
                f: F,
            ) -> impl std::future::Future<Output = crate::Result<R>> + Send + 'static
            where
                F: FnOnce() -> Fut + Send + 'static,
                Fut: std::future::Future<Output = R> + 'static,
                R: Send + 'static,
            {
                crate::Runtime::global().run_async(self, f)
            }
        }
    };
}
pub(crate) use run_methods;

run_methods!(Ns, "of this namespace", "Ns::create(NsKind::Uts)?");

impl sealed::Sealed for Ns {
    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    #[inline]
    fn anchor(&self) -> Result<&Anchor> {
        self.shared
            .anchor
            .as_deref()
            .ok_or_else(|| Error::not_joinable(self.kind()))
    }

    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    fn namespaces(&self) -> Vec<Arc<Namespace>> {
        vec![Arc::clone(&self.shared.ns)]
    }
}

impl Runtime {
    /// Runs `f` on a thread of this runtime that is in `ns` (a
    /// [`NetNs`](crate::NetNs), an [`Ns`] or an [`NsSet`](crate::NsSet)); see
    /// [`NetNs::run`](crate::NetNs::run) for the guarantees.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = Runtime::builder().max_threads_per_ns(1).build();
    /// let ns = NetNs::create()?;
    /// let routes = rt.run(&ns, || std::fs::read_to_string("/proc/thread-self/net/route"))??;
    /// # let _ = routes;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotJoinable`] for a user, pid or time namespace; otherwise only
    /// when no thread could enter.
    pub fn run<N, F, R>(&self, ns: &N, f: F) -> Result<R>
    where
        N: Namespaces + ?Sized,
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.call(ns.anchor()?, f)
    }

    /// Runs the future that `f` makes on the async thread of `ns` that belongs to
    /// this runtime; see [`NetNs::run_async`](crate::NetNs::run_async) for the
    /// guarantees.
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Runtime};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = Runtime::builder().keep_alive(std::time::Duration::from_secs(1)).build();
    /// let ns = NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// let bound = rt
    ///     .run_async(&ns, || async { tokio::net::UdpSocket::bind("127.0.0.1:0").await.is_ok() })
    ///     .await?;
    /// assert!(bound);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotJoinable`] for a user, pid or time namespace; otherwise only
    /// when the namespaces could not be entered or no thread could be started.
    #[cfg(all(feature = "tokio", not(loom)))]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn run_async<N, F, Fut, R>(
        &self,
        ns: &N,
        f: F,
    ) -> impl std::future::Future<Output = Result<R>> + Send + 'static
    where
        N: Namespaces + ?Sized,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R> + 'static,
        R: Send + 'static,
    {
        let call = ns.anchor().map(|anchor| self.call_async(anchor, f));
        async move { call?.await }
    }
}

impl Namespaces for Ns {}

impl PartialEq for Ns {
    fn eq(&self, other: &Ns) -> bool {
        self.shared.ns.id() == other.shared.ns.id()
    }
}

impl Eq for Ns {}

impl Hash for Ns {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shared.ns.id().hash(state);
    }
}

impl AsFd for Ns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.shared.ns.file.fd.as_fd()
    }
}

impl fmt::Debug for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Ns");
        self.shared.ns.origin.debug_field(&mut s);
        s.field("kind", &self.kind())
            .field("inode", &self.inode())
            .finish()
    }
}

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.shared.ns, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_lines_parse_with_their_escapes() {
        let mount = Mount::parse("tmpfs /mnt/a\\040b tmpfs rw,nosuid 0 0").unwrap();
        assert_eq!(mount.source, "tmpfs");
        assert_eq!(mount.target, Path::new("/mnt/a b"));
        assert_eq!(mount.fstype, "tmpfs");
        assert_eq!(mount.options, "rw,nosuid");
        assert_eq!(unescape("a\\134b\\"), "a\\b\\");
        assert!(Mount::parse("short line").is_none());
    }
}
