use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) {
    println!("inside");
}

fn main() {
    let _ = f;
}
