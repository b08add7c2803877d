use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    rayon::broadcast(|_| ());
    Ok(())
}

fn main() {
    let _ = f;
}
