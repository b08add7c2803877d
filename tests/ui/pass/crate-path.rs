#![deny(warnings)]
//! `crate = "path"` for crates that re-export ns-runtime under another path.

mod reexport {
    pub use ns_runtime;
}

use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, crate = "self::reexport::ns_runtime")]
fn through_a_reexport(ns: &NetNs) -> std::io::Result<u64> {
    Ok(ns.inode())
}

pub(crate) fn main() {
    let _ = through_a_reexport;
}
