use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f<T: std::fmt::Display>(ns: &NetNs, value: T) -> std::io::Result<String> {
    Ok(value.to_string())
}

fn main() {
    let _ = f::<u8>;
}
