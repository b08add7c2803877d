use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, flag: &std::cell::Cell<bool>) -> std::io::Result<()> {
    flag.set(true);
    Ok(())
}

fn main() {
    let _ = f;
}
