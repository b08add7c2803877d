use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, other)]
fn f(ns: &NetNs, other: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
