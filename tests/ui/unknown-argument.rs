use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, threads = 2)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
