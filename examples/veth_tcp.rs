//! A tokio program serves TCP inside a network namespace and a client outside
//! reaches it through a veth pair.
//!
//! The listener is made inside (`NetNs::tcp_listener`, a std socket) and served by
//! the program's own tokio runtime; the veth end inside is configured by an
//! `#[in_netns] async fn` with `rtnetlink`. No thread of the program but the
//! namespace threads ever enters the namespace.
//!
//! Run as root: `cargo run --example veth_tcp`

#[path = "support/main_error.rs"]
mod main_error;
#[path = "support/netlink.rs"]
mod netlink;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

use ns_runtime::{in_netns, NetNs};
use rtnetlink::{LinkUnspec, LinkVeth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A veth pair between the host and a namespace, with an address at each end.
#[derive(Debug, Clone)]
pub struct Veth {
    /// The end that stays in the host namespace.
    pub host_end: String,
    /// Its address.
    pub host_addr: Ipv4Addr,
    /// The address of the end inside the namespace.
    pub ns_addr: Ipv4Addr,
}

impl Veth {
    /// Names and addresses unique to this process (`10.N.0.1/30` and `.2`).
    pub fn for_this_process() -> Veth {
        let pid = std::process::id();
        let net = 100 + (pid % 150) as u8;
        Veth {
            host_end: format!("nsrt{pid}h"),
            host_addr: Ipv4Addr::new(10, net, 0, 1),
            ns_addr: Ipv4Addr::new(10, net, 0, 2),
        }
    }

    fn ns_end(&self) -> String {
        format!("{}n", self.host_end.trim_end_matches('h'))
    }

    /// Creates the pair on the host, moves one end into `ns` and configures both.
    pub async fn create(&self, ns: &NetNs) -> io::Result<()> {
        let (veth, ns_end, fd) = (self.clone(), self.ns_end(), ns.as_fd().as_raw_fd());
        netlink::with_connection(|handle| async move {
            let add = LinkVeth::new(&veth.host_end, &ns_end).build();
            handle.link().add(add).execute().await?;
            let index = netlink::link_index(&handle, &ns_end).await?;
            let to_ns = LinkUnspec::new_with_index(index).setns_by_fd(fd).build();
            handle.link().set(to_ns).execute().await?;
            netlink::up_with_address(&handle, &veth.host_end, veth.host_addr, 30).await
        })
        .await?;
        configure_inside(ns, self.ns_end(), self.ns_addr).await
    }

    /// Deletes the pair (deleting one end deletes both).
    pub async fn delete(&self) -> io::Result<()> {
        let host_end = self.host_end.clone();
        netlink::with_connection(|handle| async move {
            let index = netlink::link_index(&handle, &host_end).await?;
            handle.link().del(index).execute().await
        })
        .await
    }
}

/// Inside `ns`: brings `lo` and the veth end up and gives the end its address.
#[in_netns(ns)]
async fn configure_inside(ns: &NetNs, link: String, addr: Ipv4Addr) -> io::Result<()> {
    netlink::with_connection(|handle| async move {
        netlink::up_with_address(&handle, "lo", Ipv4Addr::LOCALHOST, 8)
            .await
            .ok(); // `lo` may have its address already
        netlink::up_with_address(&handle, &link, addr, 30).await
    })
    .await
    .map(drop)
}

/// Serves one connection inside `ns` on the caller's tokio runtime and connects
/// to it from the host through `veth`: returns the reply the client got.
pub async fn round_trip(ns: &NetNs, veth: &Veth, request: &[u8]) -> io::Result<Vec<u8>> {
    let listener = ns.tcp_listener((veth.ns_addr, 0))?;
    let addr: SocketAddr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let server = tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await?;
        let mut buf = vec![0; 64];
        let n = stream.read(&mut buf).await?;
        let reply = format!(
            "{} from {peer}",
            String::from_utf8_lossy(&buf[..n]).to_uppercase()
        );
        stream.write_all(reply.as_bytes()).await?;
        Ok::<_, io::Error>(())
    });
    // A plain host socket: it reaches the namespace only through the veth pair.
    let mut client = tokio::net::TcpStream::connect(addr).await?;
    client.write_all(request).await?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await?;
    server.await.map_err(io::Error::other)??;
    Ok(reply)
}

#[tokio::main]
async fn main() -> Result<(), main_error::MainError> {
    let name = format!("nsrt-example-{}", std::process::id());
    let ns = NetNs::create_named(&name)?;
    let veth = Veth::for_this_process();
    let result = async {
        veth.create(&ns).await?;
        println!(
            "{} ({}) <-> {} inside {ns}",
            veth.host_end, veth.host_addr, veth.ns_addr
        );
        let reply = round_trip(&ns, &veth, b"hello").await?;
        println!("client got {:?}", String::from_utf8_lossy(&reply));
        Ok::<_, io::Error>(())
    }
    .await;
    let deleted = veth.delete().await;
    NetNs::remove_named(&name)?;
    result?;
    Ok(deleted?)
}
