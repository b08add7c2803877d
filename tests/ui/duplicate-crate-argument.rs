use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, crate = "ns_runtime", crate = "ns_runtime")]
fn f(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
