use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    let later = async { tokio::spawn(async {}) };
    drop(later);
    Ok(())
}

fn main() {
    let _ = f;
}
