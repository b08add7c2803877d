//! Runs a function inside a network namespace it creates, and shows that the
//! caller's thread never moved.
//!
//! Run as root: `cargo run --example hello_netns`

#[path = "support/main_error.rs"]
mod main_error;

use std::net::TcpListener;

use ns_runtime::NetNs;

fn net_ns_of_this_thread() -> std::io::Result<String> {
    Ok(std::fs::read_link("/proc/thread-self/ns/net")?
        .display()
        .to_string())
}

fn main() -> Result<(), main_error::MainError> {
    let ns = NetNs::create()?;
    ns.set_loopback_up()?;
    println!("created          {ns:?}");
    println!("caller runs in   {}", net_ns_of_this_thread()?);

    // The body runs on a namespace thread; it may borrow `greeting` from this stack.
    let greeting = String::from("hello from inside");
    let (inside, listener) = ns.run(|| -> std::io::Result<_> {
        println!("body says        {greeting}");
        Ok((net_ns_of_this_thread()?, TcpListener::bind("127.0.0.1:0")?))
    })??;
    println!("body ran in      {inside}");
    println!("caller still in  {}", net_ns_of_this_thread()?);
    println!(
        "listener bound inside at {} (it keeps that namespace on any thread)",
        listener.local_addr()?
    );
    Ok(())
}
