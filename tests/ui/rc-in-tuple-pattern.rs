use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn f(ns: &NetNs, (a, b): (std::rc::Rc<u8>, u8)) -> std::io::Result<u8> {
    Ok(*a + b)
}

fn main() {
    let _ = f;
}
