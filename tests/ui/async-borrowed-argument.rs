use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
async fn lookup(ns: &NetNs, host: &str) -> std::io::Result<usize> {
    Ok(host.len())
}

fn main() {
    let _ = lookup;
}
