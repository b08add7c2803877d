//! Creates a link and an address inside a network namespace with the `rtnetlink`
//! crate, from an `#[in_netns] async fn`: the netlink socket is opened and driven
//! on the namespace thread, so it talks to that namespace's kernel objects.
//!
//! Run as root: `cargo run --example rtnetlink_inside` (makes a namespace named
//! `nsrt-example-PID`, shows `ip -n NAME addr`, and removes it again).

#[path = "support/main_error.rs"]
mod main_error;
#[path = "support/netlink.rs"]
mod netlink;

use std::io;
use std::net::Ipv4Addr;
use std::process::Command;

use ns_runtime::{in_netns, NetNs};
use rtnetlink::LinkBridge;

/// Adds a bridge `link` with `addr/prefix` inside `ns`, brings it up, and returns
/// the link's index there.
#[in_netns(ns)]
pub async fn add_bridge_with_address(
    ns: &NetNs,
    link: String,
    addr: Ipv4Addr,
    prefix: u8,
) -> io::Result<u32> {
    netlink::with_connection(|handle| async move {
        handle
            .link()
            .add(LinkBridge::new(&link).build())
            .execute()
            .await?;
        netlink::up_with_address(&handle, &link, addr, prefix).await
    })
    .await
}

/// What `ip -n NAME -4 addr show` prints.
pub fn ip_addr_of(name: &str) -> io::Result<String> {
    let out = Command::new("ip")
        .args(["-n", name, "-4", "addr", "show"])
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), main_error::MainError> {
    let name = format!("nsrt-example-{}", std::process::id());
    let ns = NetNs::create_named(&name)?;
    let result = async {
        let addr = Ipv4Addr::new(10, 77, 0, 1);
        let index = add_bridge_with_address(&ns, "br0".into(), addr, 24).await?;
        println!("br0 has index {index} inside {ns}");
        print!("$ ip -n {name} -4 addr show\n{}", ip_addr_of(&name)?);
        Ok::<_, io::Error>(())
    }
    .await;
    NetNs::remove_named(&name)?;
    Ok(result?)
}
