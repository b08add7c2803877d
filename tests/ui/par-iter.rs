use ns_runtime::{in_netns, NetNs};
use rayon::prelude::*;

#[in_netns(ns)]
fn f(ns: &NetNs, v: Vec<u64>) -> std::io::Result<u64> {
    Ok(v.par_iter().sum())
}

fn main() {
    let _ = f;
}
