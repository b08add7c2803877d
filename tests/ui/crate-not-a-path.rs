use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, crate = "not a path")]
fn f(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
