//! What operators can see: `Runtime::stats()` per target, and the runtime's
//! `tracing` events (feature `tracing`) for starts, entering, release and exits.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ns_runtime::{NetNs, Runtime};

fn stats_show_threads_queued_and_served_calls_per_target() {
    require_root!();
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let (a, b) = (NetNs::create().unwrap(), NetNs::create().unwrap());
    for _ in 0..3 {
        rt.run(&a, || ()).unwrap();
    }
    rt.run(&b, || ()).unwrap();
    let stats = rt.stats();
    let of = |ns: &NetNs| {
        stats
            .targets
            .iter()
            .find(|t| t.target.contains(&ns.inode().to_string()))
            .cloned()
    };
    let (sa, sb) = (of(&a).expect("a listed"), of(&b).expect("b listed"));
    assert_eq!((sa.calls, sb.calls), (3, 1), "{stats:#?}");
    assert_eq!(sa.queued + sb.queued, 0);
    assert!(sa.threads + sb.threads >= 1, "{stats:#?}");
    assert!(stats.process_threads >= 1);
    // A released target is no longer listed.
    let inode = a.inode();
    drop(a);
    let listed = rt
        .stats()
        .targets
        .iter()
        .any(|t| t.target.contains(&inode.to_string()));
    assert!(!listed);
}

/// Collects the messages of `ns_runtime` events.
struct Collect(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Collect {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "ns_runtime"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.lock().unwrap().push(message);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn the_runtime_says_what_its_threads_do_through_tracing() {
    require_root!();
    let seen = Arc::new(Mutex::new(Vec::new()));
    // Global: the events come from the runtime's threads.
    tracing::subscriber::set_global_default(Collect(Arc::clone(&seen))).unwrap();
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let ns = NetNs::create().unwrap();
    rt.run(&ns, || ()).unwrap();
    drop(ns);
    let expected = [
        "target asks for a thread",
        "runtime thread started",
        "runtime thread entered",
        "target released: its threads leave",
        "runtime thread went home",
    ];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = seen.lock().unwrap().clone();
        if expected.iter().all(|e| seen.iter().any(|s| s == e)) {
            break;
        }
        assert!(Instant::now() < deadline, "events seen: {seen:#?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

tests! {
    stats_show_threads_queued_and_served_calls_per_target,
    the_runtime_says_what_its_threads_do_through_tracing,
}
