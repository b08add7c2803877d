//! The hand-off under the loom model checker: the real `Pool`, `Cells`, `Sched`,
//! `Latch` and `StackJob` code with loom's `Mutex`, atomics, parking and
//! threads, every interleaving explored (within a preemption bound): calls
//! through cells and the queue, growth, idle exit, panics, threads moving
//! between targets, and release with the last handle.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p ns-runtime --release --lib loom`
//! (`LOOM_MAX_PREEMPTIONS` to change the bound; 2 by default here, 1 for the
//! models marked so).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::sync::thread;
use super::{Anchor, Runtime};
use crate::kind::NsKind;
use crate::namespace::{Namespace, Origin};
use crate::sys::NsFile;
use crate::target::Target;

/// Runs `f` under loom and prints how many interleavings it explored.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    model_bounded(name, 2, f);
}

/// As [`model`], with `bound` preemptions at most (unless `LOOM_MAX_PREEMPTIONS`
/// says otherwise).
fn model_bounded(name: &str, bound: usize, f: impl Fn() + Sync + Send + 'static) {
    // One model at a time: they share the process's interned targets (a model
    // running beside another would find its anchors, made by another execution).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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

/// A runtime without spinning (each spin would be a branch point for loom).
fn runtime(max_threads: usize, keep_alive: Duration) -> Runtime {
    Runtime::builder()
        .max_threads_per_ns(max_threads)
        .keep_alive(keep_alive)
        .spin(Duration::ZERO)
        .max_idle_spin(Duration::ZERO)
        .build()
}

/// The anchor of this process's own namespace of `kind` (loom threads enter
/// nothing, so any namespace will do; two kinds make two targets).
fn anchor(kind: NsKind) -> Arc<Anchor> {
    let path = format!("/proc/self/ns/{}", kind.proc_name());
    let file = NsFile::open(Path::new(&path), Some(kind)).unwrap();
    let ns = Arc::new(Namespace {
        file,
        origin: Origin::Thread,
    });
    Anchor::intern(Target::new(vec![ns], None).unwrap())
}

const LONG: Duration = Duration::from_secs(3600);

/// Calls 1 and 3 into `net` while another thread calls 2; then drops `rt`
/// (closing it: its threads exit, so the model can end).
fn two_calls_beside_a_third(rt: Runtime, net: &Arc<Anchor>) {
    let other = {
        let (rt, net) = (rt.clone(), Arc::clone(net));
        thread::spawn(move || rt.call(&net, || 2).unwrap())
    };
    assert_eq!(rt.call(net, || 1).unwrap(), 1);
    assert_eq!(rt.call(net, || 3).unwrap(), 3);
    assert_eq!(other.join().unwrap(), 2);
    drop(rt);
}

/// Two callers at once on a target served by at most `max_threads` threads,
/// explored within `bound` preemptions.
fn two_callers(name: &str, max_threads: usize, bound: usize) {
    model_bounded(name, bound, move || {
        let rt = runtime(max_threads, LONG);
        let net = anchor(NsKind::Net);
        let other = {
            let (rt, net) = (rt.clone(), Arc::clone(&net));
            thread::spawn(move || rt.call(&net, || 2).unwrap())
        };
        assert_eq!(rt.call(&net, || 1).unwrap(), 1);
        assert_eq!(other.join().unwrap(), 2);
        drop(rt); // closes the runtime: its threads exit, so the model can end
    });
}

#[test]
fn loom_two_callers_one_thread() {
    two_callers("loom_two_callers_one_thread", 1, 2);
}

#[test]
fn loom_growth_to_two_threads() {
    // (Bound 1 here and in the models below marked so: at 2 each runs for more
    // than ten minutes since the hand-off cells, whose give-up and claim add
    // branch points; a model with one caller and one thread runs at 2.)
    two_callers("loom_growth_to_two_threads", 2, 1);
}

#[test]
fn loom_idle_exit_races_a_new_caller() {
    model_bounded("loom_idle_exit_races_a_new_caller", 1, || {
        // Zero keep-alive: a worker exits whenever it finds nothing to do.
        let rt = runtime(1, Duration::ZERO);
        let net = anchor(NsKind::Net);
        two_calls_beside_a_third(rt, &net);
    });
}

#[test]
fn loom_a_panic_comes_back_and_the_target_keeps_serving() {
    model(
        "loom_a_panic_comes_back_and_the_target_keeps_serving",
        || {
            let rt = runtime(1, LONG);
            let net = anchor(NsKind::Net);
            let caught = catch_unwind(AssertUnwindSafe(|| {
                rt.call(&net, || -> u8 { panic!("boom") })
            }));
            assert!(caught.is_err());
            assert_eq!(rt.call(&net, || 7).unwrap(), 7);
            drop(rt);
        },
    );
}

#[test]
fn loom_a_thread_moves_to_the_next_target_while_a_caller_calls() {
    // One thread serves two targets one after the other (it moves), while a
    // second caller uses the first target: every call is served, none twice.
    model_bounded("loom_a_thread_moves_to_the_next_target", 1, || {
        let rt = runtime(1, LONG);
        let (net, uts) = (anchor(NsKind::Net), anchor(NsKind::Uts));
        assert_eq!(rt.call(&net, || 1).unwrap(), 1);
        let other = {
            let (rt, net) = (rt.clone(), Arc::clone(&net));
            thread::spawn(move || rt.call(&net, || 2).unwrap())
        };
        assert_eq!(rt.call(&uts, || 3).unwrap(), 3);
        assert_eq!(other.join().unwrap(), 2);
        drop(rt);
    });
}

#[test]
fn loom_the_last_handle_released_while_a_caller_of_another_target_calls() {
    // Dropping a target's last handle sends its idle thread home, racing a call
    // into another target that the same thread may serve.
    model_bounded("loom_release_races_a_call_elsewhere", 2, || {
        let rt = runtime(1, LONG);
        let (net, uts) = (anchor(NsKind::Net), anchor(NsKind::Uts));
        assert_eq!(rt.call(&net, || 1).unwrap(), 1);
        let other = {
            let rt = rt.clone();
            thread::spawn(move || rt.call(&uts, || 2).unwrap())
        };
        drop(net);
        assert_eq!(other.join().unwrap(), 2);
        drop(rt);
    });
}

#[test]
fn loom_a_queued_call_between_two_handed_calls_keeps_serving_the_cells() {
    // A caller that finds the cells taken queues; the thread runs the queued job
    // between two calls from its cells, and must keep serving the cells after.
    // (Bound 1, as for growth.)
    model_bounded("loom_queued_between_handed", 1, || {
        let rt = runtime(1, LONG);
        let net = anchor(NsKind::Net);
        assert_eq!(rt.call(&net, || 0).unwrap(), 0);
        two_calls_beside_a_third(rt, &net);
    });
}
