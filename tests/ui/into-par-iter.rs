use ns_runtime::{in_netns, NetNs};
use rayon::prelude::*;

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<u64> {
    Ok((0..100u64).into_par_iter().sum())
}

fn main() {
    let _ = f;
}
