// ns-runtime built without its `tokio` feature: an `async fn` under either
// attribute is one error per function, naming the feature to enable.
use ns_runtime::{in_netns, in_ns, NetNs, NsSet};

#[in_netns(ns)]
async fn ping(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

#[in_ns(set)]
async fn hostname(set: &NsSet) -> std::io::Result<String> {
    Ok(String::new())
}

// A plain `fn` works without the feature.
#[in_netns(ns)]
fn interfaces(ns: &NetNs) -> std::io::Result<String> {
    std::fs::read_to_string("/proc/thread-self/net/dev")
}

fn main() {}
