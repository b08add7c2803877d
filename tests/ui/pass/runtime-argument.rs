#![deny(warnings)]
//! Every form `runtime = ..` takes: a reference or an owned runtime, a field, an
//! `Arc`, a static, the global runtime; in plain and async functions, with `in_ns`.

use std::sync::{Arc, LazyLock};

use ns_runtime::{in_netns, in_ns, NetNs, NsSet, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| Runtime::builder().build());

#[in_netns(ns, runtime = rt)]
fn borrowed(ns: &NetNs, rt: &Runtime) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = rt)]
fn owned(ns: NetNs, rt: Runtime) -> std::io::Result<u64> {
    let _moved = rt;
    Ok(ns.inode())
}

#[in_netns(ns, runtime = rt)]
fn shared(ns: &NetNs, rt: Arc<Runtime>) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = RUNTIME)]
fn in_a_static(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = &RUNTIME)]
fn in_a_static_borrowed(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = &rt)]
fn shared_borrowed(ns: &NetNs, rt: Arc<Runtime>) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = Runtime::global())]
fn global(ns: &NetNs) -> std::io::Result<()> {
    Ok(())
}

#[in_ns(set, runtime = rt, crate = "ns_runtime")]
fn set_of(set: &NsSet, rt: &Runtime) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = rt)]
async fn async_borrowed(ns: &NetNs, rt: &Runtime) -> std::io::Result<usize> {
    Ok(rt.max_threads_per_ns())
}

// Borrowed from a parameter the body owns: cloned before the call.
#[in_netns(ns, runtime = &rt)]
fn owned_but_borrowed(ns: &NetNs, rt: Runtime) -> std::io::Result<usize> {
    Ok(rt.max_threads_per_ns())
}

// Temporaries in the expressions live until the body has run.
#[in_netns(&ns.clone(), runtime = &rt.clone())]
fn temporaries(ns: &NetNs, rt: &Runtime) -> std::io::Result<()> {
    Ok(())
}

#[in_netns(ns, runtime = rt)]
async fn async_static(ns: &NetNs, rt: &'static LazyLock<Runtime>) -> std::io::Result<()> {
    let _forced: &Runtime = LazyLock::force(rt); // the body keeps the static as it is
    Ok(())
}

#[in_netns(ns, runtime = (rt))]
async fn async_mut_and_parenthesized(ns: &NetNs, mut rt: &Runtime) -> std::io::Result<()> {
    rt = Runtime::global();
    let _ = rt;
    Ok(())
}

// `$runtime:expr` reaches the attribute as an invisible group around `rt`.
macro_rules! on_runtime {
    ($name:ident, $rt:ident) => {
        on_runtime!(@ $name, $rt, $rt);
    };
    (@ $name:ident, $param:ident, $runtime:expr) => {
        #[in_netns(ns, runtime = $runtime)]
        async fn $name(ns: &NetNs, $param: &Runtime) -> std::io::Result<()> {
            Ok(())
        }
    };
}
on_runtime!(from_a_macro, rt);

struct Service {
    netns: NetNs,
    runtime: Runtime,
}

impl Service {
    #[in_netns(&self.netns, runtime = &self.runtime)]
    fn by_ref(&self) -> std::io::Result<()> {
        Ok(())
    }

    #[in_netns(&self.netns, runtime = &self.runtime)]
    fn by_mut(&mut self) -> std::io::Result<()> {
        self.netns = self.netns.clone();
        Ok(())
    }

    #[in_netns(self.netns.clone(), runtime = self.runtime.clone())]
    async fn by_value(self) -> std::io::Result<()> {
        drop(self);
        Ok(())
    }
}

pub fn main() {
    let _ = (
        borrowed,
        owned,
        shared,
        in_a_static,
        global,
        set_of,
        async_borrowed,
    );
    let _ = (Service::by_ref, Service::by_mut, Service::by_value);
    let _ = (in_a_static_borrowed, shared_borrowed);
    let _ = (
        owned_but_borrowed,
        temporaries,
        async_static,
        async_mut_and_parenthesized,
    );
    let _ = from_a_macro;
}
