use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
struct Config {
    netns: NetNs,
}

fn main() {}
