//! `#[in_netns]` at run time: the body really runs inside, results, errors and
//! panics come back, and methods, generics, patterns and lifetimes work.

#[macro_use]
mod common;

use std::fmt::Display;
use std::io;
use std::sync::{Arc, LazyLock, Mutex};

use common::{assert_threads_where_they_belong, thread_net_inode};
use ns_runtime::{in_netns, in_ns, NetNs, NsSet, Runtime};

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

/// Calls served so far by `rt`, in every target.
fn calls_of(rt: &Runtime) -> u64 {
    rt.stats().targets.iter().map(|t| t.calls).sum()
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| Runtime::builder().build());

#[in_netns(ns, runtime = rt)]
fn on_a_runtime(ns: &NetNs, rt: &Runtime) -> io::Result<u64> {
    Ok(thread_net_inode())
}

#[in_netns(ns, runtime = RUNTIME)]
fn on_a_static_runtime(ns: &NetNs) -> io::Result<u64> {
    Ok(thread_net_inode())
}

#[in_ns(set, runtime = rt)]
fn on_a_runtime_in_a_set(set: &NsSet, rt: Runtime) -> io::Result<u64> {
    drop(rt); // moved into the body: the call holds its own
    Ok(thread_net_inode())
}

/// Whether the calling thread has a seccomp filter: a sealed runtime's threads
/// do, and no other thread of the tests.
fn filtered() -> bool {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status.lines().any(|line| line == "Seccomp:\t2")
}

#[in_netns(ns, runtime = rt)]
async fn async_on_a_runtime(ns: &NetNs, rt: &Runtime) -> io::Result<(u64, bool)> {
    let _still_usable: &Runtime = rt; // a clone the body owns
    Ok((thread_net_inode(), filtered()))
}

struct OnItsRuntime {
    netns: NetNs,
    runtime: Runtime,
}

impl OnItsRuntime {
    #[in_netns(&self.netns, runtime = &self.runtime)]
    fn borrowed(&self) -> io::Result<u64> {
        Ok(thread_net_inode())
    }

    #[in_netns(&self.netns, runtime = &self.runtime)]
    fn mutable(&mut self) -> io::Result<u64> {
        self.netns = self.netns.clone();
        Ok(thread_net_inode())
    }

    #[in_netns(self.netns.clone(), runtime = self.runtime.clone())]
    fn consumed(self) -> io::Result<u64> {
        drop(self);
        Ok(thread_net_inode())
    }
}

fn runtime_argument_runs_the_body_on_that_runtime() {
    require_root!();
    let rt = Runtime::builder().build();
    let ns = NetNs::create().unwrap();
    assert_eq!(on_a_runtime(&ns, &rt).unwrap(), ns.inode());
    let set = NsSet::new([ns.as_ns().clone()]).unwrap();
    assert_eq!(on_a_runtime_in_a_set(&set, rt.clone()).unwrap(), ns.inode());
    assert_eq!(calls_of(&rt), 2);
    // Async bodies are not counted: a sealed runtime's thread is told by its filter.
    let sealed = Runtime::builder().sealed(true).build();
    let inside = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async_on_a_runtime(&ns, &sealed))
        .unwrap();
    assert_eq!(inside, (ns.inode(), true));

    let mut service = OnItsRuntime {
        netns: ns.clone(),
        runtime: Runtime::builder().build(),
    };
    assert_eq!(service.borrowed().unwrap(), ns.inode());
    assert_eq!(service.mutable().unwrap(), ns.inode());
    let its = service.runtime.clone();
    assert_eq!(service.consumed().unwrap(), ns.inode());
    assert_eq!(calls_of(&its), 3);

    let before = calls_of(&RUNTIME);
    assert_eq!(on_a_static_runtime(&ns).unwrap(), ns.inode());
    assert_eq!(calls_of(&RUNTIME), before + 1);
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
    runtime_argument_runs_the_body_on_that_runtime,
}
