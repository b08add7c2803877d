use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    std::thread::Builder::new().name("worker".into()).spawn(|| ())?;
    Ok(())
}

fn main() {
    let _ = f;
}
