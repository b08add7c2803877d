//! Small `rtnetlink` helpers shared by the examples. Each runs on the thread that
//! calls it, so it configures the namespace that thread is in: the host for a
//! plain caller, the namespace for the body of an `#[in_netns] async fn`.

use std::future::Future;
use std::io;
use std::net::Ipv4Addr;

use futures_util::TryStreamExt;
use rtnetlink::{Handle, LinkUnspec};

/// Opens a netlink connection here and runs `requests` with it. The connection is
/// driven right here, next to the requests, rather than spawned: a spawned task
/// would outlive the call (and `#[in_netns]` rejects spawns).
pub(crate) async fn with_connection<F, Fut, T>(requests: F) -> io::Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T, rtnetlink::Error>>,
{
    let (connection, handle, _) = rtnetlink::new_connection()?;
    tokio::select! {
        result = requests(handle) => result.map_err(io::Error::other),
        () = connection => Err(io::Error::other("the netlink connection ended")),
    }
}

/// The index of the link named `name`.
pub(crate) async fn link_index(handle: &Handle, name: &str) -> Result<u32, rtnetlink::Error> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await? {
        Some(link) => Ok(link.header.index),
        None => Err(rtnetlink::Error::RequestFailed),
    }
}

/// Brings the link `name` up and gives it `addr/prefix`; returns its index.
pub(crate) async fn up_with_address(
    handle: &Handle,
    name: &str,
    addr: Ipv4Addr,
    prefix: u8,
) -> Result<u32, rtnetlink::Error> {
    let index = link_index(handle, name).await?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await?;
    handle
        .address()
        .add(index, addr.into(), prefix)
        .execute()
        .await?;
    Ok(index)
}
