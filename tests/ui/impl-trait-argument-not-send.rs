use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, value: impl std::fmt::Display) -> std::io::Result<String> {
    Ok(value.to_string())
}

fn main() {
    let _ = |ns: &NetNs| f(ns, 1u8);
}
