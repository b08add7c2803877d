use ns_runtime::{in_netns, NetNs};

#[in_netns(ns, runtime = threads)]
fn f(ns: &NetNs, threads: usize) -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = f;
}
