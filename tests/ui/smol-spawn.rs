use ns_runtime::{in_netns, NetNs};

// Stands in for the smol crate: the check reads paths, not types.
mod smol {
    pub fn spawn<F>(_: F) {}
}

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    smol::spawn(async {});
    Ok(())
}

fn main() {
    let _ = f;
}
