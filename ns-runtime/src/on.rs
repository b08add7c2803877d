//! `On`: a handle together with the runtime that serves it, so that the
//! conveniences of handles (`hostname`, sockets, `set_loopback_up`, ...) work
//! through any runtime, not only the global one.

use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::handle::{Mount, Namespaces};
use crate::kind::NsKind;
use crate::netns::NetNs;
use crate::runtime::Runtime;

/// A handle seen through one runtime: the conveniences of handles, served by that
/// runtime's threads. Made by [`Runtime::on`]; the handles' own methods
/// (`ns.hostname()`, `ns.tcp_listener(..)`) are the same through
/// [`Runtime::global`].
///
/// Nothing here makes the global runtime, so a program can use its own runtime
/// for everything and still configure the global one later (or never).
///
/// ```no_run
/// use ns_runtime::{NetNs, Runtime};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let rt = Runtime::builder().max_threads_per_ns(2).build();
/// let ns = NetNs::create()?;
/// rt.on(&ns).set_loopback_up()?;
/// let listener = rt.on(&ns).tcp_listener("127.0.0.1:0")?;
/// let stream = rt.on(&ns).tcp_connect(listener.local_addr()?)?;
/// # let _ = stream;
/// # Ok(())
/// # }
/// ```
pub struct On<'a, N: ?Sized> {
    runtime: &'a Runtime,
    ns: &'a N,
}

impl Runtime {
    /// `ns` (a [`NetNs`], an [`Ns`](crate::Ns) or an [`NsSet`](crate::NsSet))
    /// with this runtime: its conveniences served by this runtime's threads.
    ///
    /// ```no_run
    /// use ns_runtime::{Ns, NsKind, Runtime};
    ///
    /// # fn main() -> Result<(), ns_runtime::Error> {
    /// let rt = Runtime::builder().build();
    /// let uts = Ns::create(NsKind::Uts)?;
    /// rt.on(&uts).set_hostname("sandbox")?;
    /// assert_eq!(rt.on(&uts).hostname()?, "sandbox");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on<'a, N: Namespaces + ?Sized>(&'a self, ns: &'a N) -> On<'a, N> {
        On { runtime: self, ns }
    }
}

impl<N: Namespaces + ?Sized> On<'_, N> {
    /// [`Runtime::run`]: `f` on a thread of this runtime inside the handle's
    /// namespaces.
    ///
    /// # Errors
    /// As [`Runtime::run`].
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.runtime.run(self.ns, f)
    }

    /// [`Runtime::run_async`]: the future `f` makes, on this runtime's async
    /// thread of the handle's namespaces.
    ///
    /// # Errors
    /// As [`Runtime::run_async`].
    #[cfg(all(feature = "tokio", not(loom)))]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn run_async<F, Fut, R>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<R>> + Send + 'static
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = R> + 'static,
        R: Send + 'static,
    {
        self.runtime.run_async(self.ns, f)
    }

    /// [`Namespaces::read_to_string`], through this runtime.
    ///
    /// # Errors
    /// Those of reading the file, or of entering.
    pub fn read_to_string(&self, path: impl AsRef<Path>) -> io::Result<String> {
        let path = path.as_ref();
        self.run(|| std::fs::read_to_string(path))?
    }

    /// [`Namespaces::hostname`], through this runtime.
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a uts namespace; otherwise those of entering.
    pub fn hostname(&self) -> Result<String> {
        self.ns.require(NsKind::Uts)?;
        let name = self.run(nix::unistd::gethostname)?;
        let name = name.map_err(|e| Error::syscall("gethostname", self.ns, e.into()))?;
        Ok(name.to_string_lossy().into_owned())
    }

    /// [`Namespaces::set_hostname`], through this runtime.
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a uts namespace; [`Error::PermissionDenied`]
    /// without `CAP_SYS_ADMIN` in it.
    pub fn set_hostname(&self, name: &str) -> Result<()> {
        self.ns.require(NsKind::Uts)?;
        let set = self.run(|| nix::unistd::sethostname(name))?;
        set.map_err(|e| Error::syscall("sethostname", self.ns, e.into()))
    }

    /// [`Namespaces::mounts`], through this runtime.
    ///
    /// # Errors
    /// [`Error::MissingKind`] without a mount namespace; otherwise those of reading
    /// or entering.
    pub fn mounts(&self) -> Result<Vec<Mount>> {
        self.ns.require(NsKind::Mnt)?;
        let table = self
            .read_to_string("/proc/thread-self/mounts")
            .map_err(|e| Error::syscall("read /proc/thread-self/mounts", self.ns, e))?;
        Ok(table.lines().filter_map(Mount::parse).collect())
    }
}

impl On<'_, NetNs> {
    /// [`NetNs::set_loopback_up`], through this runtime.
    ///
    /// # Errors
    /// [`Error::Syscall`] if the `ioctl` fails; otherwise those of entering.
    pub fn set_loopback_up(&self) -> Result<()> {
        self.run(|| crate::link::set_up("lo"))?
            .map_err(|e| Error::syscall("ioctl(SIOCSIFFLAGS) on lo", self.ns.namespace(), e))
    }

    /// [`NetNs::tcp_listener`], through this runtime.
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`] inside the namespace, or entering it.
    pub fn tcp_listener(&self, addr: impl ToSocketAddrs + Send) -> io::Result<TcpListener> {
        self.run(|| TcpListener::bind(addr))?
    }

    /// [`NetNs::tcp_connect`], through this runtime.
    ///
    /// # Errors
    /// Those of [`TcpStream::connect`] inside the namespace, or entering it.
    pub fn tcp_connect(&self, addr: impl ToSocketAddrs + Send) -> io::Result<TcpStream> {
        self.run(|| TcpStream::connect(addr))?
    }

    /// [`NetNs::udp_socket`], through this runtime.
    ///
    /// # Errors
    /// Those of [`UdpSocket::bind`] inside the namespace, or entering it.
    pub fn udp_socket(&self, addr: impl ToSocketAddrs + Send) -> io::Result<UdpSocket> {
        self.run(|| UdpSocket::bind(addr))?
    }

    /// [`NetNs::netlink_socket`], through this runtime.
    ///
    /// # Errors
    /// Those of `socket(AF_NETLINK, SOCK_RAW, protocol)` inside the namespace, or
    /// entering it.
    pub fn netlink_socket(&self, protocol: i32) -> io::Result<OwnedFd> {
        self.run(|| crate::sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, protocol))?
    }
}

impl<N: ?Sized> Clone for On<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: ?Sized> Copy for On<'_, N> {}

impl<N: std::fmt::Display + ?Sized> std::fmt::Debug for On<'_, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("On")
            .field("runtime", self.runtime)
            .field("ns", &format_args!("{}", self.ns))
            .finish()
    }
}
