use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    tokio::task::block_in_place(|| ());
    Ok(())
}

fn main() {
    let _ = f;
}
