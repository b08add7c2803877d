use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f<'scope, 'env>(ns: &NetNs, s: &'scope std::thread::Scope<'scope, 'env>) -> std::io::Result<()> {
    std::thread::Builder::new().spawn_scoped(s, || ())?;
    Ok(())
}

fn main() {
    let _ = f;
}
