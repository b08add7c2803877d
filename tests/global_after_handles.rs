//! `Builder::build_global` works after handles were opened: opening, creating and
//! comparing handles does not make the global runtime; the first call through it
//! does. (A test binary of its own: the global runtime is per process.)

#[macro_use]
mod common;

use std::time::Duration;

use ns_runtime::{NetNs, Runtime};

fn the_global_runtime_can_be_configured_after_handles_exist() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let current = NetNs::current().unwrap();
    assert_ne!(ns, current);
    let set = std::collections::HashSet::from([ns.clone(), current]);
    assert_eq!(set.len(), 2);

    Runtime::builder()
        .keep_alive(Duration::from_millis(1234))
        .build_global()
        .expect("handles alone must not make the global runtime");
    assert_eq!(Runtime::global().keep_alive(), Duration::from_millis(1234));
    assert_eq!(ns.run(common::thread_net_inode).unwrap(), ns.inode());

    // Once it exists, it refuses.
    assert!(Runtime::builder().build_global().is_err());
}

tests! {
    the_global_runtime_can_be_configured_after_handles_exist,
}
