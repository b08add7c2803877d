#![deny(warnings)]
//! Methods with every receiver, trait impls, generics and lifetimes.

use std::io;
use std::sync::{Arc, Mutex};

use ns_runtime::{in_netns, NetNs};

/// A service that does its network work inside its namespace.
pub struct Service<T> {
    netns: NetNs,
    state: Mutex<Vec<T>>,
}

impl<T: Clone + Send + Sync> Service<T> {
    #[in_netns(&self.netns)]
    fn shared(&self) -> io::Result<usize> {
        Ok(self.state.lock().map(|s| s.len()).unwrap_or_default())
    }

    #[in_netns(&self.netns)]
    fn exclusive(&mut self, item: T) -> io::Result<()> {
        if let Ok(state) = self.state.get_mut() {
            state.push(item);
        }
        Ok(())
    }

    #[in_netns(self.netns.clone())]
    fn consume(self) -> io::Result<Vec<T>> {
        Ok(self.state.into_inner().unwrap_or_default())
    }

    #[in_netns(&self.netns)]
    fn arc(self: Arc<Self>) -> io::Result<usize> {
        Ok(Arc::strong_count(&self))
    }

    #[in_netns(&self.netns)]
    fn borrow_from_self<'s>(&'s self, fallback: &'s str) -> io::Result<&'s str> {
        Ok(fallback)
    }
}

/// A trait whose implementation runs inside a namespace.
pub trait Probe {
    /// Probes something.
    fn probe(&self, label: &str) -> io::Result<String>;
}

impl<T: Send + Sync> Probe for Service<T> {
    #[in_netns(&self.netns)]
    fn probe(&self, label: &str) -> io::Result<String> {
        Ok(label.to_uppercase())
    }
}

pub(crate) fn main() {
    let _ = Service::<u8>::shared;
    let _ = Service::<u8>::exclusive;
    let _ = Service::<u8>::consume;
    let _ = Service::<u8>::arc;
    let _ = Service::<u8>::borrow_from_self;
    let _ = <Service<u8> as Probe>::probe;
}
