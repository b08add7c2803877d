use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
extern "C" fn f(ns: &NetNs) -> i32 {
    0
}

fn main() {
    let _ = f;
}
