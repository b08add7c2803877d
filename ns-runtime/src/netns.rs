//! `NetNs`: a handle to a network namespace.

use std::fmt;
use std::fs;
#[cfg(all(feature = "tokio", not(loom)))]
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::{Error, Result};
use crate::handle::sealed::Sealed;
use crate::handle::{Namespaces, Ns};
use crate::kind::NsKind;
use crate::name::{netns_path, NETNS_RUN_DIR};
use crate::namespace::{Namespace, Origin};
use crate::runtime::Runtime;
use crate::sys::{self, NsFile};

/// A handle to a Linux network namespace.
///
/// Cloning is cheap (a reference count). Handles compare equal, and hash alike, when
/// they refer to the same namespace, whichever path they were opened by. While a
/// handle exists, the namespace exists.
///
/// Code runs inside the namespace with [`NetNs::run`] (or the [`in_netns`]
/// attribute): on one of the runtime's threads, which is in the namespace for the
/// whole body. The calling thread never changes namespace. When the last handle
/// to a namespace is dropped, the runtime's threads leave it.
///
/// ```no_run
/// use ns_runtime::NetNs;
///
/// # fn main() -> Result<(), ns_runtime::Error> {
/// let ns = NetNs::create()?; // a new, anonymous network namespace
/// ns.set_loopback_up()?;
/// let inode_inside = ns.run(|| NetNs::current().map(|n| n.inode()))??;
/// assert_eq!(inode_inside, ns.inode());
/// # Ok(())
/// # }
/// ```
///
/// [`in_netns`]: crate::in_netns
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NetNs {
    ns: Ns,
}

impl NetNs {
    fn from_namespace(ns: Namespace) -> NetNs {
        NetNs {
            ns: Ns::from_namespace(ns),
        }
    }

    fn open(path: &Path, origin: Origin) -> Result<NetNs> {
        let file = NsFile::open(path, Some(NsKind::Net))?;
        Ok(NetNs::from_namespace(Namespace { file, origin }))
    }

    /// Opens the network namespace at `path` (an nsfs file such as
    /// `/proc/PID/ns/net`, `/run/netns/NAME` or a bind mount of one).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// // This process's network namespace (its main thread's).
    /// let ns = ns_runtime::NetNs::from_path("/proc/self/ns/net")?;
    /// println!("this process's network namespace is net:[{}]", ns.inode());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if nothing is there, [`Error::NotANamespace`] for any other
    /// file, [`Error::WrongKind`] (naming the kind it is) for a namespace of another
    /// kind.
    pub fn from_path(path: impl AsRef<Path>) -> Result<NetNs> {
        let path = path.as_ref();
        NetNs::open(path, Origin::Path(path.to_owned()))
    }

    /// Opens the named network namespace `/run/netns/NAME`, as made by
    /// `ip netns add NAME` or [`NetNs::create_named`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// // After `ip netns add blue`:
    /// let blue = ns_runtime::NetNs::named("blue")?;
    /// assert_eq!(blue.name(), Some("blue"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a name that is not a plain file name (empty, `.`,
    /// `..`, containing `/`, longer than 255 bytes); then as [`NetNs::from_path`].
    pub fn named(name: &str) -> Result<NetNs> {
        let path = netns_path(name)?;
        NetNs::open(&path, Origin::Named(name.to_owned()))
    }

    /// Opens the network namespace of process `pid` (of its main thread).
    ///
    /// ```no_run
    /// use ns_runtime::NetNs;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut child = std::process::Command::new("unshare").args(["--net", "sleep", "5"]).spawn()?;
    /// # std::thread::sleep(std::time::Duration::from_millis(100));
    /// let ns = NetNs::of_pid(child.id())?;
    /// assert_ne!(ns, NetNs::of_pid(std::process::id())?);
    /// # child.kill()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such process (or it has exited);
    /// [`Error::PermissionDenied`] for another user's process without
    /// `CAP_SYS_PTRACE`.
    pub fn of_pid(pid: u32) -> Result<NetNs> {
        let path = format!("/proc/{pid}/ns/net");
        NetNs::open(Path::new(&path), Origin::Pid(pid))
    }

    /// Opens the network namespace of the *calling thread* (through
    /// `/proc/thread-self`, not `/proc/self`, which is the main thread).
    ///
    /// ```no_run
    /// use ns_runtime::NetNs;
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let ns = NetNs::create()?;
    /// let seen_inside = ns.run(NetNs::current)??; // on a runtime thread inside `ns`
    /// assert_eq!(seen_inside, ns);
    /// assert_ne!(NetNs::current()?, ns); // this thread stayed where it was
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of opening `/proc/thread-self/ns/net` (no `/proc` mounted, say).
    pub fn current() -> Result<NetNs> {
        let file = sys::current_thread_ns(NsKind::Net)?;
        Ok(NetNs::from_namespace(Namespace {
            file,
            origin: Origin::Thread,
        }))
    }

    /// Creates a new, anonymous network namespace. It lives while a handle to it, or
    /// a thread inside it, exists.
    ///
    /// The namespace is made by a short-lived helper thread: the calling thread does
    /// not change namespace. A new namespace has only `lo`, and it is down: see
    /// [`NetNs::set_loopback_up`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// drop(ns); // the last handle: the runtime's threads leave, the kernel frees it
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] without `CAP_SYS_ADMIN`.
    pub fn create() -> Result<NetNs> {
        let file = crate::create::unshare_on_helper_thread(NsKind::Net)?;
        Ok(NetNs::from_namespace(Namespace {
            file,
            origin: Origin::Anonymous,
        }))
    }

    /// Creates a new network namespace and names it `/run/netns/NAME`, exactly as
    /// `ip netns add NAME` does, so iproute2 sees it (`ip netns exec NAME ...`) and
    /// `ip netns del NAME` or [`NetNs::remove_named`] removes it.
    ///
    /// ```no_run
    /// use ns_runtime::NetNs;
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let ns = NetNs::create_named("demo")?; // `ip netns list` shows `demo`
    /// assert_eq!(NetNs::named("demo")?, ns);
    /// NetNs::remove_named("demo")?; // as `ip netns del demo`; `ns` still works
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`] and [`Error::AlreadyExists`] change nothing;
    /// [`Error::PermissionDenied`] without `CAP_SYS_ADMIN`.
    pub fn create_named(name: &str) -> Result<NetNs> {
        let path = netns_path(name)?;
        make_run_dir_shared()?;
        // Claim the name first: O_EXCL makes a taken name an error that changes nothing.
        fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o000)
            .open(&path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => Error::AlreadyExists {
                    name: name.to_owned(),
                    path: path.clone(),
                },
                _ => Error::syscall("create", path.display(), source),
            })?;
        let named = crate::create::unshare_on_helper_thread(NsKind::Net).and_then(|file| {
            let source = format!("/proc/self/fd/{}", file.fd.as_raw_fd());
            mount(
                Some(source.as_str()),
                &path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| Error::syscall("mount(MS_BIND)", path.display(), e.into()))?;
            Ok(file)
        });
        match named {
            Ok(file) => Ok(NetNs::from_namespace(Namespace {
                file,
                origin: Origin::Named(name.to_owned()),
            })),
            Err(err) => {
                // Give the name back; the error that matters is the first one.
                let _ = fs::remove_file(&path);
                Err(err)
            }
        }
    }

    /// Removes the name `/run/netns/NAME`, as `ip netns del NAME` does.
    ///
    /// The namespace itself lives on while handles, threads or sockets refer to it;
    /// those keep working.
    ///
    /// Unlike `ip netns del`, a symbolic link under `/run/netns` is refused
    /// ([`Error::Symlink`]) and never followed: removing it would unmount whatever
    /// it points to.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// // After `ip netns add old`:
    /// ns_runtime::NetNs::remove_named("old")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidName`], [`Error::NotFound`], [`Error::Symlink`];
    /// [`Error::PermissionDenied`] without `CAP_SYS_ADMIN`.
    pub fn remove_named(name: &str) -> Result<()> {
        let path = netns_path(name)?;
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(Error::Symlink { path }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::NotFound { path }),
            Err(e) => return Err(Error::syscall("lstat", path.display(), e)),
        }
        // A link put there since is not followed either (then it is merely unlinked).
        let flags = MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW;
        if let Err(errno) = umount2(&path, flags) {
            match errno {
                // Not a mount point: a leftover file, which unlink below removes.
                nix::Error::EINVAL => {}
                nix::Error::ENOENT => return Err(Error::NotFound { path }),
                e => return Err(Error::syscall("umount2", path.display(), e.into())),
            }
        }
        fs::remove_file(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::NotFound { path: path.clone() },
            _ => Error::syscall("unlink", path.display(), source),
        })
    }

    /// Brings the loopback interface `lo` of this namespace up (a new namespace has
    /// it down: binding to 127.0.0.1 works but connecting does not).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// let listener = ns.tcp_listener("127.0.0.1:0")?;
    /// let client = ns.tcp_connect(listener.local_addr()?)?; // refused while `lo` is down
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Like [`NetNs::run`], this uses the global runtime; [`Runtime::on`] uses
    /// another: `rt.on(&ns).set_loopback_up()`.
    ///
    /// # Errors
    /// [`Error::Syscall`] if the `ioctl` fails; otherwise those of entering.
    pub fn set_loopback_up(&self) -> Result<()> {
        Runtime::global().on(self).set_loopback_up()
    }

    /// Runs `f` on a runtime thread inside this namespace and returns its result; the
    /// calling thread blocks until `f` is done and never changes namespace itself.
    ///
    /// `f` may borrow from the caller's stack (there is no `'static` bound). A panic
    /// in `f` is resumed in the caller with its original payload; the namespace keeps
    /// serving later calls. Called on a thread of this namespace, `f` runs inline.
    ///
    /// This uses the process-wide [`Runtime::global`]; [`Runtime::run`] uses another.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// let names = vec!["lo".to_string()];
    /// let found = ns.run(|| names.iter().any(|n| n == "lo"))?; // borrows `names`
    /// assert!(found);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Only when no thread could enter the namespace (for example
    /// [`Error::PermissionDenied`]); `f`'s own errors are in `R`.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        Runtime::global().run(self, f)
    }

    /// Runs the future that `f` makes on this namespace's async thread and resolves
    /// to its output.
    ///
    /// The future is created and polled on a namespace thread that drives async
    /// bodies on a tokio current-thread runtime with a `LocalSet`: it need not be
    /// `Send`, `tokio::net`, timers and netlink crates work inside, and many bodies
    /// of one namespace run at once on that one thread. The returned future is
    /// `Send`, works on any executor and never blocks the thread that polls it.
    /// Nothing happens until it is first polled; dropping it cancels the body at
    /// its next await point. A panic in the body is resumed in the awaiting task.
    ///
    /// A body that blocks (a long computation, a blocking system call, a
    /// synchronous call into another namespace) stalls the other async bodies of
    /// this namespace: use [`NetNs::run`] for those. I/O objects made inside and
    /// returned must be std types (see [`NetNs::tcp_listener`] and friends): a
    /// tokio object is tied to the namespace thread's runtime.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let ns = ns_runtime::NetNs::create()?;
    /// let inside = ns
    ///     .run_async(|| async {
    ///         tokio::time::sleep(Duration::from_millis(10)).await;
    ///         std::fs::read_to_string("/proc/thread-self/net/dev")
    ///     })
    ///     .await??;
    /// assert!(inside.contains("lo:"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Only when the namespace could not be entered or no thread could be
    /// started; the body's own errors are in `R`.
    #[cfg(all(feature = "tokio", not(loom)))]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn run_async<F, Fut, R>(&self, f: F) -> impl Future<Output = Result<R>> + Send + 'static
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = R> + 'static,
        R: Send + 'static,
    {
        Runtime::global().run_async(self, f)
    }

    /// The inode number of the namespace (what `ip netns identify` and
    /// `readlink /proc/PID/ns/net` show as `net:[INODE]`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ns = ns_runtime::NetNs::of_pid(std::process::id())?;
    /// let link = std::fs::read_link("/proc/self/ns/net")?;
    /// assert_eq!(link.to_str(), Some(format!("net:[{}]", ns.inode()).as_str()));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn inode(&self) -> u64 {
        self.ns.inode()
    }

    /// The name under `/run/netns` this handle was opened or created by, if any.
    ///
    /// ```no_run
    /// use ns_runtime::NetNs;
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// assert_eq!(NetNs::create()?.name(), None);
    /// assert_eq!(NetNs::named("blue")?.name(), Some("blue"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match &self.ns.namespace().origin {
            Origin::Named(name) => Some(name),
            _ => None,
        }
    }

    pub(crate) fn namespace(&self) -> &Arc<Namespace> {
        self.ns.namespace()
    }

    /// This handle as a handle of any kind (to put it in an [`NsSet`](crate::NsSet)).
    ///
    /// ```no_run
    /// use ns_runtime::{NetNs, Ns, NsKind, NsSet};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let net = NetNs::create()?;
    /// assert_eq!(net.as_ns().kind(), NsKind::Net);
    /// let set = NsSet::new([net.as_ns().clone(), Ns::create(NsKind::Uts)?])?;
    /// # let _ = set;
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_ns(&self) -> &Ns {
        &self.ns
    }
}

/// Makes `/run/netns` a shared mount point, as iproute2 does, so that removing a name
/// propagates to other mount namespaces.
fn make_run_dir_shared() -> Result<()> {
    let dir = Path::new(NETNS_RUN_DIR);
    fs::create_dir_all(dir).map_err(|e| Error::syscall("mkdir", NETNS_RUN_DIR, e))?;
    let shared = || {
        mount(
            Some("none"),
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match shared() {
        Ok(()) => return Ok(()),
        Err(nix::Error::EINVAL) => {} // not a mount point yet
        Err(e) => return Err(Error::syscall("mount(MS_SHARED)", NETNS_RUN_DIR, e.into())),
    }
    mount(
        Some(dir),
        dir,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::syscall("mount(MS_BIND)", NETNS_RUN_DIR, e.into()))?;
    shared().map_err(|e| Error::syscall("mount(MS_SHARED)", NETNS_RUN_DIR, e.into()))
}

impl AsRef<NetNs> for NetNs {
    fn as_ref(&self) -> &NetNs {
        self
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ns.as_fd()
    }
}

impl fmt::Debug for NetNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("NetNs");
        self.namespace().origin.debug_field(&mut s);
        s.field("inode", &self.inode()).finish()
    }
}

impl fmt::Display for NetNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.ns, f)
    }
}

impl From<NetNs> for Ns {
    fn from(netns: NetNs) -> Ns {
        netns.ns
    }
}

impl TryFrom<Ns> for NetNs {
    type Error = Error;

    /// # Errors
    /// [`Error::WrongKind`] for a namespace of another kind.
    fn try_from(ns: Ns) -> Result<NetNs> {
        if ns.kind() == NsKind::Net {
            Ok(NetNs { ns })
        } else {
            Err(Error::WrongKind {
                path: ns.namespace().origin.path(ns.kind()),
                expected: NsKind::Net,
                found: ns.kind(),
            })
        }
    }
}

impl Sealed for NetNs {
    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    #[inline]
    fn anchor(&self) -> Result<&crate::runtime::Anchor> {
        self.ns.anchor()
    }

    #[allow(private_interfaces)] // sealed: nobody outside can name or call it
    fn namespaces(&self) -> Vec<Arc<Namespace>> {
        self.ns.namespaces()
    }
}

impl Namespaces for NetNs {}
