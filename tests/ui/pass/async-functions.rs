#![deny(warnings)]
//! `async fn`: a borrowed namespace parameter, owned arguments, `?` and early
//! returns, non-`Send` values held across awaits, `self: Arc<Self>`, generics.

use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ns_runtime::{in_netns, NetNs};

/// Reads a file of this namespace's procfs after a while.
#[in_netns(ns)]
pub async fn read_after(ns: &NetNs, path: String, delay: Duration) -> io::Result<String> {
    if path.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
    }
    let local = Rc::new(path); // not `Send`, held across the await
    tokio::time::sleep(delay).await;
    let text = std::fs::read_to_string(&*local)?;
    Ok(format!("{}: {text}", ns.inode()))
}

/// The namespace handle by value, and a `'static` borrow.
#[in_netns(ns)]
pub async fn owned_handle(ns: NetNs, label: &'static str) -> io::Result<String> {
    Ok(format!("{label} {}", ns.inode()))
}

/// Generic over owned, sendable values.
#[in_netns(ns)]
pub async fn echo<T: Send + 'static>(ns: &NetNs, value: T) -> io::Result<T> {
    tokio::task::yield_now().await;
    Ok(value)
}

/// A service that owns its handle.
pub struct Service {
    netns: NetNs,
}

impl Service {
    /// Runs inside the service's namespace.
    #[in_netns(self.netns)]
    pub async fn inode(self: Arc<Self>) -> io::Result<u64> {
        Ok(NetNs::current()?.inode())
    }

    /// Consumes the service.
    #[in_netns(self.netns.clone())]
    pub async fn into_inode(self) -> io::Result<u64> {
        Ok(self.netns.inode())
    }
}

/// Compiled only: trybuild does not run pass cases as root.
pub fn main() {
    fn is_send<T: Send>(_: &T) {}
    if let Ok(ns) = NetNs::current() {
        is_send(&read_after(&ns, String::new(), Duration::ZERO));
        is_send(&owned_handle(ns.clone(), "x"));
        is_send(&echo(&ns, 1_u8));
        is_send(&Arc::new(Service { netns: ns }).inode());
    }
}
