use ns_runtime::{in_ns, NetNs};

#[in_ns(ns)]
fn f(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
