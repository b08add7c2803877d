use std::rc::Rc;

use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
async fn counter(ns: &NetNs) -> std::io::Result<Rc<u8>> {
    Ok(Rc::new(1))
}

fn main() {
    let _ = counter;
}
