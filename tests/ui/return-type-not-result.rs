use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> u32 {
    42
}

fn main() {
    let _ = f;
}
