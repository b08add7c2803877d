//! `#[in_netns]` at run time: the body really runs inside, results, errors and
//! panics come back, and methods, generics, patterns and lifetimes work.

#[macro_use]
mod common;

use std::fmt::Display;
use std::io;
use std::sync::{Arc, Mutex};

use common::{assert_threads_where_they_belong, thread_net_inode};
use ns_runtime::{in_netns, NetNs};

#[in_netns(ns)]
fn inode_inside(ns: &NetNs) -> io::Result<u64> {
    Ok(thread_net_inode())
}

#[in_netns(ns)]
fn bind_inside(ns: &NetNs, port: u16) -> io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(("127.0.0.1", port))
}

#[in_netns(ns)]
fn fails_inside(ns: &NetNs) -> io::Result<()> {
    std::fs::read("/nonexistent/file")?;
    Ok(())
}

#[in_netns(ns)]
fn returns_early(ns: &NetNs, early: bool) -> io::Result<&'static str> {
    if early {
        return Ok("early");
    }
    Ok("late")
}

#[in_netns(ns)]
fn panics_inside(ns: &NetNs) -> io::Result<()> {
    panic!("panicked inside {}", thread_net_inode());
}

#[in_netns(ns)]
fn owned_handle(ns: NetNs, (a, mut b): (u32, u32)) -> io::Result<(u64, u32)> {
    b += a;
    Ok((ns.inode(), b))
}

#[in_netns(ns)]
fn generic<T>(ns: &NetNs, value: T, items: impl IntoIterator<Item = T> + Send) -> io::Result<String>
where
    T: Display + Send + Clone,
{
    let mut out = value.to_string();
    for item in items {
        out.push_str(&item.to_string());
    }
    Ok(out)
}

#[in_netns(ns)]
fn first_word<'a>(ns: &NetNs, text: &'a str) -> io::Result<&'a str> {
    Ok(text.split(' ').next().unwrap_or(text))
}

struct Service {
    netns: NetNs,
    calls: Mutex<u32>,
}

impl Service {
    #[in_netns(&self.netns)]
    fn count(&self) -> io::Result<(u64, u32)> {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        Ok((thread_net_inode(), *calls))
    }

    #[in_netns(&self.netns)]
    fn rename(&mut self, by: u32) -> io::Result<u32> {
        *self.calls.get_mut().unwrap() += by;
        Ok(*self.calls.get_mut().unwrap())
    }

    #[in_netns(self.netns.clone())]
    fn into_inode(self) -> io::Result<u64> {
        drop(self);
        Ok(thread_net_inode())
    }

    #[in_netns(&self.netns)]
    fn shared(self: Arc<Self>) -> io::Result<u64> {
        Ok(thread_net_inode())
    }
}

trait Probe {
    fn probe(&self) -> io::Result<u64>;
}

impl Probe for Service {
    #[in_netns(&self.netns)]
    fn probe(&self) -> io::Result<u64> {
        Ok(thread_net_inode())
    }
}

fn the_body_runs_inside_and_the_caller_stays_home() {
    require_root!();
    let home = thread_net_inode();
    let ns = NetNs::create().unwrap();
    assert_eq!(inode_inside(&ns).unwrap(), ns.inode());
    assert_eq!(thread_net_inode(), home);
    assert_threads_where_they_belong();
}

fn a_socket_made_inside_is_returned() {
    require_root!();
    let ns = NetNs::create().unwrap();
    ns.set_loopback_up().unwrap();
    let listener = bind_inside(&ns, 0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Inside the namespace, so the host cannot reach it.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

fn errors_and_early_returns_come_back() {
    require_root!();
    let ns = NetNs::create().unwrap();
    assert_eq!(
        fails_inside(&ns).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(returns_early(&ns, true).unwrap(), "early");
    assert_eq!(returns_early(&ns, false).unwrap(), "late");
}

fn a_panic_comes_back_and_the_namespace_keeps_serving() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let payload = std::panic::catch_unwind(|| panics_inside(&ns)).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert_eq!(message, &format!("panicked inside {}", ns.inode()));
    assert_eq!(inode_inside(&ns).unwrap(), ns.inode());
}

fn owned_handles_patterns_generics_and_lifetimes() {
    require_root!();
    let ns = NetNs::create().unwrap();
    assert_eq!(owned_handle(ns.clone(), (2, 40)).unwrap(), (ns.inode(), 42));
    assert_eq!(generic(&ns, 1, vec![2, 3]).unwrap(), "123");
    let text = String::from("hello namespace");
    assert_eq!(first_word(&ns, &text).unwrap(), "hello");
}

fn methods_with_every_receiver_and_trait_impls() {
    require_root!();
    let ns = NetNs::create().unwrap();
    let mut svc = Service {
        netns: ns.clone(),
        calls: Mutex::new(0),
    };
    assert_eq!(svc.count().unwrap(), (ns.inode(), 1));
    assert_eq!(svc.rename(10).unwrap(), 11);
    assert_eq!(svc.probe().unwrap(), ns.inode());
    let svc = Arc::new(svc);
    assert_eq!(Arc::clone(&svc).shared().unwrap(), ns.inode());
    let svc = Arc::into_inner(svc).unwrap();
    assert_eq!(svc.into_inode().unwrap(), ns.inode());
}

tests! {
    the_body_runs_inside_and_the_caller_stays_home,
    a_socket_made_inside_is_returned,
    errors_and_early_returns_come_back,
    a_panic_comes_back_and_the_namespace_keeps_serving,
    owned_handles_patterns_generics_and_lifetimes,
    methods_with_every_receiver_and_trait_impls,
}
