//! Stress: 16 callers over 8 namespaces doing random mixes (trivial and slow
//! bodies, panics, nested and cross-namespace calls, named namespaces created and
//! removed meanwhile). Every result is checked; at the end the audit is clean, no
//! namespace thread outlives the keep-alive, no fd leaked and no namespace is left.
//!
//! Bounded for CI (a few seconds); the long form:
//! `cargo test --release --test stress -- --ignored`.

#[macro_use]
mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{thread_net_inode, TestNs};
use ns_runtime::{NetNs, Runtime};

/// A small deterministic generator (xorshift64*), one per caller.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn namespace_threads() -> usize {
    common::tasks()
        .iter()
        .filter(|t| t.name.starts_with("ns-4"))
        .count()
}

fn stress(duration: Duration) {
    // The deliberate panics (payload `u64`) are expected: keep them off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<u64>().is_none() {
            default_hook(info);
        }
    }));
    const CALLERS: u64 = 16;
    const MAX_THREADS: usize = 4;
    // The runtime holds the process's own namespaces open (five fds, once): where
    // its threads go back to. Open them before counting.
    NetNs::current().unwrap().run(|| ()).unwrap();
    let fds_before = open_fds();
    let keep_alive = Duration::from_millis(200);
    let rt = Runtime::builder()
        .max_threads_per_ns(MAX_THREADS)
        .keep_alive(keep_alive)
        .build();
    let namespaces: Vec<NetNs> = (0..8).map(|_| NetNs::create().unwrap()).collect();
    let operations = AtomicU64::new(0);
    let deadline = Instant::now() + duration;

    thread::scope(|s| {
        for caller in 0..CALLERS {
            let (rt, namespaces, operations) = (&rt, &namespaces, &operations);
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (caller + 1));
                while Instant::now() < deadline {
                    let a = &namespaces[rng.below(8) as usize];
                    let b = &namespaces[rng.below(8) as usize];
                    match rng.below(100) {
                        0..=59 => {
                            let x = rng.below(1 << 20);
                            let (inode, y) = rt.run(a, || (thread_net_inode(), x * 2)).unwrap();
                            assert_eq!((inode, y), (a.inode(), x * 2));
                        }
                        60..=69 => {
                            let slept = rt
                                .run(a, || {
                                    thread::sleep(Duration::from_millis(1));
                                    thread_net_inode()
                                })
                                .unwrap();
                            assert_eq!(slept, a.inode());
                        }
                        70..=77 => {
                            let tag = rng.below(1000);
                            let caught = catch_unwind(AssertUnwindSafe(|| {
                                rt.run(a, || -> u64 { std::panic::panic_any(tag) })
                            }));
                            assert_eq!(caught.unwrap_err().downcast_ref::<u64>(), Some(&tag));
                        }
                        78..=85 => {
                            let (outer, inner) = rt
                                .run(a, || {
                                    let inner = rt.run(a, thread_net_inode).unwrap();
                                    (thread_net_inode(), inner)
                                })
                                .unwrap();
                            assert_eq!((outer, inner), (a.inode(), a.inode()));
                        }
                        86..=95 => {
                            let (outer, inner) = rt
                                .run(a, || {
                                    let inner = rt.run(b, thread_net_inode).unwrap();
                                    (thread_net_inode(), inner)
                                })
                                .unwrap();
                            assert_eq!((outer, inner), (a.inode(), b.inode()));
                        }
                        _ => {
                            let named = TestNs::new("stress");
                            let inode = rt.run(&named.ns, thread_net_inode).unwrap();
                            assert_eq!(inode, named.ns.inode());
                            if rng.below(2) == 0 {
                                NetNs::remove_named(&named.name).unwrap();
                                // Removed, still serving.
                                assert_eq!(rt.run(&named.ns, thread_net_inode).unwrap(), inode);
                            }
                        }
                    }
                    operations.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let operations = operations.into_inner();
    assert!(
        operations > CALLERS * 10,
        "only {operations} operations ran"
    );

    let audit = ns_runtime::audit().unwrap();
    assert!(audit.is_clean(), "{audit:#?}");

    drop(namespaces);
    drop(rt);
    let settle = Instant::now() + keep_alive * 10 + Duration::from_secs(2);
    while namespace_threads() > 0 || open_fds() > fds_before {
        assert!(
            Instant::now() < settle,
            "after the keep-alive: {} namespace threads, {} fds (before: {fds_before})",
            namespace_threads(),
            open_fds()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let prefix = format!("nsrt-{}-", std::process::id());
    let left: Vec<_> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| !n.starts_with(&prefix)),
        "left behind: {left:?}"
    );
    eprintln!("stress: {operations} operations over {duration:?}");
}

fn random_mixes_over_many_namespaces() {
    require_root!();
    let secs = std::env::var("NSRT_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    stress(Duration::from_secs(secs));
}

fn random_mixes_for_a_minute() {
    require_root!();
    stress(Duration::from_secs(60));
}

tests! {
    random_mixes_over_many_namespaces,
    #[ignore = "long form: a minute of stress"]
    random_mixes_for_a_minute,
}
