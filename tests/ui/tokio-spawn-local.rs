use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    drop(tokio::task::spawn_local(async {}));
    Ok(())
}

fn main() {
    let _ = f;
}
