//! Documented limits of the runtime, shown so that the documentation stays true.
//! In a binary of their own: a thread that a body starts sits in the namespace
//! without being a runtime thread, which the audits of other tests would report.

#[macro_use]
mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ns_runtime::{NetNs, Runtime};

/// The limit of the A → B → A rule (see `Builder::max_threads_per_ns`): a thread
/// that a body starts is not a runtime thread, so its call into the same
/// namespace waits for a free thread like any outside caller's. A body that waits
/// for it at a full pool would wait forever; here it gives up after a while, and
/// the call runs once the body returns.
fn a_thread_started_by_a_body_queues_for_a_full_pool_of_the_same_namespace() {
    require_root!();
    let ns = NetNs::create().unwrap();
    for (max, runs_meanwhile) in [(1, false), (2, true)] {
        let rt = Runtime::builder().max_threads_per_ns(max).build();
        let (tx, rx) = mpsc::channel();
        let (ns2, rt2) = (ns.clone(), rt.clone());
        let (meanwhile, helper) = rt
            .run(&ns, move || {
                let helper = thread::spawn(move || {
                    rt2.run(&ns2, move || {
                        let _ = tx.send(()); // the body may have stopped waiting
                    })
                });
                (rx.recv_timeout(Duration::from_millis(500)).is_ok(), helper)
            })
            .unwrap();
        assert_eq!(meanwhile, runs_meanwhile, "max_threads_per_ns({max})");
        helper.join().unwrap().unwrap(); // and it runs once the body is done
    }
}

tests! {
    a_thread_started_by_a_body_queues_for_a_full_pool_of_the_same_namespace,
}
