//! `Builder::build_global` works after handles were opened: opening, creating and
//! comparing handles does not make the global runtime; the first call through it
//! does, and the conveniences through a runtime of one's own (`rt.on(&ns)`) do
//! not. (A test binary of its own: the global runtime is per process.)

#[macro_use]
mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ns_runtime::{Namespaces, NetNs, Ns, NsKind, Runtime};

fn the_global_runtime_can_be_configured_after_handles_exist() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let current = NetNs::current().unwrap();
    assert_ne!(ns, current);
    let set = std::collections::HashSet::from([ns.clone(), current]);
    assert_eq!(set.len(), 2);

    conveniences_through_a_runtime_of_ones_own(&ns);
    // A convenience refused before any call does not make it either.
    assert!(matches!(
        ns.hostname(),
        Err(ns_runtime::Error::MissingKind { .. })
    ));

    Runtime::builder()
        .keep_alive(Duration::from_millis(1234))
        .build_global()
        .expect("handles and a runtime of one's own must not make the global runtime");
    assert_eq!(Runtime::global().keep_alive(), Duration::from_millis(1234));
    assert_eq!(ns.run(common::thread_net_inode).unwrap(), ns.inode());

    // Once it exists, it refuses.
    assert!(Runtime::builder().build_global().is_err());
}

/// Every convenience of a handle, through `rt.on(..)`: served by `rt`, and none
/// makes the global runtime (the caller then configures it).
fn conveniences_through_a_runtime_of_ones_own(ns: &NetNs) {
    let rt = Runtime::builder().build();
    let on = rt.on(ns);
    on.set_loopback_up().unwrap();
    let listener = on.tcp_listener("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut stream = on.tcp_connect(addr).unwrap(); // refused unless `lo` is up in `ns`
    stream.write_all(b"hi").unwrap();
    let udp = on.udp_socket("127.0.0.1:0").unwrap();
    udp.send_to(b"ping", udp.local_addr().unwrap()).unwrap();
    assert_eq!(udp.recv(&mut [0; 4]).unwrap(), 4);
    drop(on.netlink_socket(libc::NETLINK_ROUTE).unwrap());
    let dev = on.read_to_string("/proc/thread-self/net/dev").unwrap();
    assert!(dev.contains("lo:"));
    assert_eq!(on.run(common::thread_net_inode).unwrap(), ns.inode());

    let uts = Ns::create(NsKind::Uts).unwrap();
    rt.on(&uts).set_hostname("through-rt").unwrap();
    assert_eq!(rt.on(&uts).hostname().unwrap(), "through-rt");
    assert!(matches!(
        rt.on(ns).hostname(),
        Err(ns_runtime::Error::MissingKind { .. })
    ));
    let mnt = Ns::current(NsKind::Mnt).unwrap();
    let mounts = rt.on(&mnt).mounts().unwrap();
    assert!(mounts.iter().any(|m| m.target == Path::new("/")));

    // 7 in `ns`, 2 in `uts`, 1 in `mnt` (`MissingKind` is found before a call).
    let served: u64 = rt.stats().targets.iter().map(|t| t.calls).sum();
    assert_eq!(served, 10, "{:?}", rt.stats());
}

tests! {
    the_global_runtime_can_be_configured_after_handles_exist,
}
