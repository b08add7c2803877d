#![deny(warnings)]
//! `#[in_ns]`: named members, a set, methods, `async fn`.

use std::io;
use std::sync::Arc;

use ns_runtime::{in_ns, NetNs, Ns, NsSet};

/// The hostname and the interfaces, as seen inside a net + uts pair.
#[in_ns(net = net, uts = uts)]
pub fn describe(net: &NetNs, uts: &Ns) -> io::Result<(String, String)> {
    let host = nix::unistd::gethostname()?.to_string_lossy().into_owned();
    Ok((host, std::fs::read_to_string("/proc/thread-self/net/dev")?))
}

/// Inside a prebuilt set.
#[in_ns(set)]
pub fn mounts(set: &NsSet) -> io::Result<String> {
    std::fs::read_to_string("/proc/thread-self/mounts")
}

/// Async, with the set borrowed and used in the body.
#[in_ns(set)]
pub async fn hostname_later(set: &NsSet, delay: std::time::Duration) -> io::Result<String> {
    tokio::time::sleep(delay).await;
    let _members = set.members().len();
    Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned())
}

/// A container that owns its namespaces.
pub struct Container {
    namespaces: NsSet,
}

impl Container {
    /// Runs inside the container's namespaces.
    #[in_ns(&self.namespaces)]
    pub fn hostname(&self) -> io::Result<String> {
        Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned())
    }

    /// The same, async.
    #[in_ns(self.namespaces)]
    pub async fn hostname_async(self: Arc<Self>) -> io::Result<String> {
        Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned())
    }
}

/// Compiled only: trybuild does not run pass cases as root.
pub fn main() {
    let _ = (describe, mounts);
    fn is_send<T: Send>(_: &T) {}
    if let Ok(set) = NsSet::of_pid(std::process::id()) {
        is_send(&hostname_later(&set, std::time::Duration::ZERO));
        is_send(&Arc::new(Container { namespaces: set }).hostname_async());
    }
}
