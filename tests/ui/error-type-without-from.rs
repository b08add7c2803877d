use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = f;
}
