//! Sockets made inside a network namespace and used anywhere.
//!
//! A socket belongs to the namespace it was created in, whichever thread or runtime
//! uses it later. So the safe way to give async code a socket of a namespace is to
//! create a std socket on a namespace thread and convert it where it is used; a
//! tokio socket created *inside* an async body is registered with the namespace
//! thread's runtime and must stay there.
//!
//! Like every convenience of a handle, these use the global runtime
//! ([`Runtime::global`](crate::Runtime::global)); through a runtime of your own
//! they are on [`Runtime::on`](crate::Runtime::on):
//! `rt.on(&ns).tcp_listener(addr)`.

use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::OwnedFd;

use crate::{NetNs, Runtime};

impl NetNs {
    /// A TCP listener bound inside this namespace (std, blocking mode). It accepts
    /// connections made to this namespace's addresses, from any thread.
    ///
    /// With tokio, convert it on the caller's side:
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// let listener = ns.tcp_listener("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// let listener = tokio::net::TcpListener::from_std(listener)?;
    /// # let _ = listener;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of [`TcpListener::bind`] inside the namespace, or entering it.
    pub fn tcp_listener(&self, addr: impl ToSocketAddrs + Send) -> io::Result<TcpListener> {
        Runtime::global().on(self).tcp_listener(addr)
    }

    /// A TCP connection made from inside this namespace (std, blocking mode), to an
    /// address as this namespace's routes reach it.
    ///
    /// ```no_run
    /// use std::io::Write;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// let listener = ns.tcp_listener("127.0.0.1:0")?;
    /// let mut stream = ns.tcp_connect(listener.local_addr()?)?; // 127.0.0.1 of `ns`
    /// stream.write_all(b"hello")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of [`TcpStream::connect`] inside the namespace, or entering it.
    pub fn tcp_connect(&self, addr: impl ToSocketAddrs + Send) -> io::Result<TcpStream> {
        Runtime::global().on(self).tcp_connect(addr)
    }

    /// A UDP socket bound inside this namespace (std, blocking mode).
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// ns.set_loopback_up()?;
    /// let socket = ns.udp_socket("127.0.0.1:0")?;
    /// socket.send_to(b"ping", socket.local_addr()?)?; // sent and received inside `ns`
    /// let mut buf = [0; 4];
    /// assert_eq!(socket.recv(&mut buf)?, 4);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of [`UdpSocket::bind`] inside the namespace, or entering it.
    pub fn udp_socket(&self, addr: impl ToSocketAddrs + Send) -> io::Result<UdpSocket> {
        Runtime::global().on(self).udp_socket(addr)
    }

    /// A netlink socket of `protocol` (`libc::NETLINK_ROUTE` for links, addresses
    /// and routes) that talks to this namespace's kernel objects, close-on-exec and
    /// in blocking mode. Netlink crates take it as a raw socket, e.g.
    /// `netlink_sys::Socket::from_raw_fd(fd.into_raw_fd())`.
    ///
    /// ```no_run
    /// use std::os::fd::AsRawFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let ns = ns_runtime::NetNs::create()?;
    /// let fd = ns.netlink_socket(libc::NETLINK_ROUTE)?;
    /// println!("rtnetlink socket of {ns} at fd {}", fd.as_raw_fd());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Those of `socket(AF_NETLINK, SOCK_RAW, protocol)` inside the namespace, or
    /// entering it.
    pub fn netlink_socket(&self, protocol: i32) -> io::Result<OwnedFd> {
        Runtime::global().on(self).netlink_socket(protocol)
    }
}
