use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    let start = || std::thread::spawn(|| ());
    drop(start);
    Ok(())
}

fn main() {
    let _ = f;
}
