#![deny(warnings)]
//! Attributes on and in the function: outer ones (docs, `#[inline]`,
//! `#[cfg_attr(..)]`, `#[allow(..)]`, `#[deprecated]`) stay on the function; the
//! body's inner attributes (`#![allow(..)]`, `//!`) stay in the body, where they
//! still cover it. Each `allow` is needed: without it, `#![deny(warnings)]` or
//! clippy fails. (Outer and inner attributes of one kind on one function are left
//! out: clippy's `mixed_attributes_style` flags them with or without the macro.)

use std::io;
use std::sync::Arc;

use ns_runtime::{in_netns, in_ns, NetNs, NsSet};

/// Documented and inlined, with an inner attribute.
#[inline]
#[in_netns(ns)]
pub fn inner_allow(ns: &NetNs) -> io::Result<u32> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(2)
}

/// Deprecated, with a conditional attribute and an outer `allow`.
#[in_ns(set)]
#[deprecated(note = "use `inner_allow`")]
#[cfg_attr(all(), must_use = "the hostname is the point")]
#[allow(clippy::needless_return)]
pub fn old_hostname(set: &NsSet) -> io::Result<String> {
    return Ok(String::new());
}

#[in_ns(net = net)]
pub fn members(net: &NetNs) -> io::Result<()> {
    //! Documented from inside: an inner doc comment is an inner attribute too.
    #![allow(unused_variables)]
    let unused = ();
    Ok(())
}

/// A service whose async method carries attributes of both kinds.
pub struct Service {
    netns: NetNs,
}

impl Service {
    /// Async, inner attributes in the body.
    #[in_netns(self.netns)]
    #[cfg_attr(all(), inline)]
    pub async fn method(self: Arc<Self>, n: u8) -> io::Result<u8> {
        #![allow(unused_mut)]
        let mut m = n;
        Ok(m)
    }
}

/// Compiled only: trybuild does not run pass cases as root.
pub fn main() {
    #[allow(deprecated)]
    let _ = (inner_allow, old_hostname, members, Service::method);
}
