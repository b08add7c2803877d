//! ns-macros expanding for an ns-runtime of another version: one error per function,
//! at the import of the support module for ns-macros' version, with rustc naming the
//! version the runtime serves; not one error for every item the expansion uses.
//! `crate = ".."` points the expansion at a stand-in for ns-runtime 0.0.9.
//! (The snapshot names the current version: update it with every release.)

use ns_runtime::{in_netns, in_ns, NetNs};

/// A stand-in for ns-runtime 0.0.9, which serves ns-macros 0.0.9 only.
mod ns_runtime_0_0_9 {
    pub mod __private_for {
        pub mod ns_macros_0_0_9 {}
    }
}

#[in_netns(ns, crate = "crate::ns_runtime_0_0_9")]
fn f(ns: &NetNs, port: u16) -> std::io::Result<u16> {
    Ok(port)
}

#[in_ns(net = ns, crate = "crate::ns_runtime_0_0_9")]
async fn g(ns: NetNs, port: u16) -> std::io::Result<u16> {
    Ok(port)
}

fn main() {
    let _ = (f, g);
}
