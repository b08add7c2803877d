//! A borrowed argument of an async function under `#[in_ns]`: the message names
//! `#[in_ns]`, the attribute written.

use ns_runtime::{in_ns, NetNs};

#[in_ns(net = ns)]
async fn lookup(ns: &NetNs, host: &str) -> std::io::Result<usize> {
    Ok(host.len())
}

fn main() {
    let _ = lookup;
}
