use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f<'scope, 'env>(ns: &NetNs, s: &'scope std::thread::Scope<'scope, 'env>) -> std::io::Result<()> {
    s.spawn(|| ());
    Ok(())
}

fn main() {
    let _ = f;
}
