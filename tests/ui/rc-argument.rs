use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, counter: std::rc::Rc<u8>) -> std::io::Result<u8> {
    Ok(*counter)
}

fn main() {
    let _ = f;
}
