use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    std::thread::spawn(|| ());
    Ok(())
}

fn main() {
    let _ = f;
}
