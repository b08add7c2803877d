//! The hand-off under the loom model checker: the real `Pool`, `Latch` and
//! `StackJob` code with loom's `Mutex`, `Condvar`, atomics and threads, every
//! interleaving explored (within a preemption bound).
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p ns-runtime --release --lib loom`
//! (`LOOM_MAX_PREEMPTIONS` to change the bound; 3 by default here).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::sync::thread;
use super::{Pool, Runtime};
use crate::kind::NsKind;
use crate::namespace::{Namespace, Origin};
use crate::sys::NsFile;
use crate::target::Target;

/// Runs `f` under loom and prints how many interleavings it explored.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    model_bounded(name, 3, f);
}

/// As [`model`], with `bound` preemptions at most (unless `LOOM_MAX_PREEMPTIONS`
/// says otherwise).
fn model_bounded(name: &str, bound: usize, f: impl Fn() + Sync + Send + 'static) {
    // The deliberate panic of one model runs in every interleaving: keep it quiet.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"boom") {
            default_hook(info);
        }
    }));
    let explored = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&explored);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(bound);
    }
    builder.check(move || {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    let explored = explored.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("loom: {name}: {explored} interleavings explored");
}

/// A runtime without spinning (each spin would be a branch point for loom) and
/// the pool of this process's own namespace (loom threads enter nothing).
fn pool(max_threads: usize, keep_alive: Duration) -> (Runtime, Arc<Pool>) {
    let rt = Runtime::builder()
        .max_threads_per_ns(max_threads)
        .keep_alive(keep_alive)
        .spin(Duration::ZERO)
        .max_idle_spin(Duration::ZERO)
        .build();
    let file = NsFile::open(Path::new("/proc/self/ns/net"), Some(NsKind::Net)).unwrap();
    let ns = Arc::new(Namespace {
        file,
        origin: Origin::Thread,
    });
    let target = Arc::new(Target::new(vec![ns], None).unwrap());
    let pool = rt.inner().pool_for(&target);
    (rt, pool)
}

const LONG: Duration = Duration::from_secs(3600);

/// Two callers at once on a pool of at most `max_threads` threads.
fn two_callers(name: &str, max_threads: usize) {
    model(name, move || {
        let (rt, pool) = pool(max_threads, LONG);
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.run(|| 2).unwrap())
        };
        assert_eq!(pool.run(|| 1).unwrap(), 1);
        assert_eq!(other.join().unwrap(), 2);
        drop(rt); // closes the pool: the worker exits, so the model can end
    });
}

#[test]
fn loom_two_callers_one_thread() {
    two_callers("loom_two_callers_one_thread", 1);
}

#[test]
fn loom_growth_to_two_threads() {
    two_callers("loom_growth_to_two_threads", 2);
}

#[test]
fn loom_idle_exit_races_a_new_caller() {
    // Three calls and threads that come and go: bound 2 keeps it to minutes.
    model_bounded("loom_idle_exit_races_a_new_caller", 2, || {
        // Zero keep-alive: a worker exits whenever it finds nothing to do.
        let (rt, pool) = pool(1, Duration::ZERO);
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.run(|| 2).unwrap())
        };
        assert_eq!(pool.run(|| 1).unwrap(), 1);
        assert_eq!(pool.run(|| 3).unwrap(), 3);
        assert_eq!(other.join().unwrap(), 2);
        drop(rt);
    });
}

#[test]
fn loom_a_panic_comes_back_and_the_pool_keeps_serving() {
    model("loom_a_panic_comes_back_and_the_pool_keeps_serving", || {
        let (rt, pool) = pool(1, LONG);
        let caught = catch_unwind(AssertUnwindSafe(|| pool.run(|| -> u8 { panic!("boom") })));
        assert!(caught.is_err());
        assert_eq!(pool.run(|| 7).unwrap(), 7);
        drop(rt);
    });
}
