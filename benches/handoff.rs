//! The cost of running a closure inside a network namespace: ns-runtime against the
//! peers, side by side in one run. `cargo bench --bench handoff` (as root), then
//! `python3 scripts/bench-report.py` for the table of ratios in BENCHMARKS.md.
//!
//! Peers (see ../shared/peers-baseline.md): a direct call (the floor); `setns` +
//! work + `setns` back on the caller's thread with pre-opened fds (netavark, ztunnel,
//! kata); the netns-rs crate's `NetNs::run`; a fresh thread per call that enters and
//! exits; tokio `spawn_blocking` + `setns` + set back (containrs); a persistent
//! thread fed by `std::sync::mpsc` request/reply channels (the naive design).
//!
//! Floors, measured in the same run: two threads handing a call through one
//! atomic slot, both spinning (two cache-line transfers: no cross-thread call can
//! be cheaper), and the same with park/unpark both ways (what a call that has to
//! wake a sleeping thread costs at least).
//!
//! Async rows: `NetNs::run_async` and an `#[in_netns] async fn` awaited from a tokio
//! program, against `spawn_blocking` + `setns` + set back; and 1000 concurrent
//! sleeping bodies in one namespace against the same sleeps as plain tokio tasks.

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::fs::File;
use std::hint::black_box;
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
#[path = "support/callers.rs"]
mod callers;
#[path = "support/floor.rs"]
mod floor;
use callers::{persistent_callers, Share};
use floor::{work, Floor};
use nix::sched::{setns, CloneFlags};
use ns_runtime::{in_netns, NetNs, Runtime};

/// A named namespace for the peers that need a path, removed at the end.
struct Target {
    name: String,
    ns: NetNs,
    file: File,
    home: File,
}

impl Target {
    fn new() -> Target {
        let name = format!("nsrt-bench-{}", std::process::id());
        let _ = NetNs::remove_named(&name);
        let ns = NetNs::create_named(&name).expect("create the bench namespace (run as root)");
        let file = File::open(format!("/run/netns/{name}")).expect("open it");
        let home = File::open("/proc/thread-self/ns/net").expect("open home");
        Target {
            name,
            ns,
            file,
            home,
        }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = NetNs::remove_named(&self.name);
    }
}

/// Peer: enter, work, go back, on the caller's thread.
fn setns_in_place(target: &File, home: &File, x: u64) -> u64 {
    setns(target.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns target");
    let out = work(x);
    setns(home.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns home");
    out
}

/// Peer: a fresh thread per call.
fn thread_per_call(target: &File, x: u64) -> u64 {
    thread::scope(|s| {
        s.spawn(|| {
            setns(target.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
            work(x)
        })
        .join()
        .expect("join")
    })
}

type Request = (Box<dyn FnOnce() -> u64 + Send>, mpsc::Sender<u64>);

/// Peer: a persistent thread in the namespace, fed by channels.
fn mpsc_thread(target: &File) -> mpsc::Sender<Request> {
    let (tx, rx) = mpsc::channel::<Request>();
    let fd = target.try_clone().expect("dup");
    thread::spawn(move || {
        setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
        for (job, reply) in rx {
            let _ = reply.send(job());
        }
    });
    tx
}

fn mpsc_call(tx: &mpsc::Sender<Request>, x: u64) -> u64 {
    let (reply_tx, reply_rx) = mpsc::channel();
    tx.send((Box::new(move || work(x)), reply_tx))
        .expect("send");
    reply_rx.recv().expect("reply")
}

#[in_netns(ns)]
fn attribute_call(ns: &NetNs, x: u64) -> std::io::Result<u64> {
    Ok(work(x))
}

#[in_netns(ns)]
async fn async_attribute_call(ns: &NetNs, x: u64) -> std::io::Result<u64> {
    Ok(work(x))
}

/// A tokio program's runtime: the callers of the async rows.
fn caller_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}

/// Async callers: one task awaiting call after call, from a tokio multi-thread
/// runtime. Peer: tokio `spawn_blocking` + `setns` + set back.
fn async_calls(c: &mut Criterion) {
    let t = Target::new();
    let tokio = caller_runtime();
    let mut g = c.benchmark_group("async_back_to_back");
    floor_row(&mut g);
    g.bench_function("direct_await", |b| {
        b.to_async(&tokio).iter(|| async { work(1) })
    });
    g.bench_function("spawn_blocking_setns", |b| {
        b.to_async(&tokio).iter(|| {
            let (target, home) = (t.file.try_clone().unwrap(), t.home.try_clone().unwrap());
            async move {
                tokio::task::spawn_blocking(move || setns_in_place(&target, &home, 1))
                    .await
                    .expect("join")
            }
        })
    });
    g.bench_function("run_async", |b| {
        b.to_async(&tokio)
            .iter(|| async { t.ns.run_async(|| async { work(1) }).await.unwrap() })
    });
    g.bench_function("in_netns_async_fn", |b| {
        b.to_async(&tokio)
            .iter(|| async { async_attribute_call(&t.ns, 1).await.unwrap() })
    });
    g.finish();
}

/// 1000 bodies that each sleep 100 ms, all at once, in one namespace; baseline:
/// the same sleeps as plain tasks of the caller's runtime (no namespace).
fn async_sleepers(c: &mut Criterion) {
    let t = Target::new();
    let tokio = caller_runtime();
    let nap = Duration::from_millis(100);
    let mut g = c.benchmark_group("async_1000_sleeping_bodies");
    g.sample_size(10);
    floor_row(&mut g);
    g.bench_function("tokio_tasks", |b| {
        b.to_async(&tokio).iter(|| async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..1000 {
                set.spawn(tokio::time::sleep(nap));
            }
            set.join_all().await
        })
    });
    g.bench_function("run_async", |b| {
        b.to_async(&tokio).iter(|| async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..1000 {
                set.spawn(t.ns.run_async(move || tokio::time::sleep(nap)));
            }
            set.join_all().await
        })
    });
    g.finish();
}

/// The floor of a cross-thread call (two threads spinning on one slot), as a
/// row of `g`: every latency table holds its figures against a floor measured
/// in its own group, minutes apart from the others' (the host may have moved
/// the two vCPUs between neighbouring and distant cores meanwhile).
fn floor_row(g: &mut BenchmarkGroup<'_, WallTime>) {
    // Its server spins the whole time it lives: only during its own row.
    g.bench_function("spin_slot_floor", |b| {
        let floor = Floor::new(false);
        b.iter(|| floor.call(1))
    });
}

fn back_to_back(c: &mut Criterion) {
    let t = Target::new();
    let peer = netns_rs::get_from_path(t.path()).expect("netns-rs open");
    let mpsc_tx = mpsc_thread(&t.file);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio");

    let custom = Runtime::builder().build();
    let mut g = c.benchmark_group("back_to_back");
    g.bench_function("direct_call", |b| b.iter(|| work(1)));
    floor_row(&mut g);
    g.bench_function("setns_in_place", |b| {
        b.iter(|| setns_in_place(&t.file, &t.home, 1))
    });
    g.bench_function("netns_rs_run", |b| {
        b.iter(|| peer.run(|_| work(1)).expect("netns-rs run"))
    });
    g.bench_function("thread_per_call", |b| {
        b.iter(|| thread_per_call(&t.file, 1))
    });
    g.bench_function("spawn_blocking_setns", |b| {
        b.iter(|| {
            let (target, home) = (t.file.try_clone().unwrap(), t.home.try_clone().unwrap());
            tokio.block_on(async move {
                tokio::task::spawn_blocking(move || setns_in_place(&target, &home, 1))
                    .await
                    .expect("join")
            })
        })
    });
    g.bench_function("mpsc_thread", |b| b.iter(|| mpsc_call(&mpsc_tx, 1)));
    g.bench_function("ns_run", |b| b.iter(|| t.ns.run(|| work(1)).unwrap()));
    // A runtime of one's own: its pool is found in the handle's list, no lock.
    g.bench_function("custom_runtime_run", |b| {
        b.iter(|| custom.run(&t.ns, || work(1)).unwrap())
    });
    g.bench_function("in_netns_fn", |b| {
        b.iter(|| attribute_call(&t.ns, 1).unwrap())
    });
    g.finish();
}

/// Open the namespace by name, run, close: per call, what netns-rs's
/// `run_in(name)` does.
fn reopen_per_call(c: &mut Criterion) {
    let t = Target::new();
    let mut g = c.benchmark_group("reopen_per_call");
    floor_row(&mut g);
    g.bench_function("setns_in_place_open", |b| {
        b.iter(|| {
            let target = File::open(t.path()).unwrap();
            setns_in_place(&target, &t.home, 1)
        })
    });
    g.bench_function("netns_rs_run_in", |b| {
        b.iter(|| netns_rs::NetNs::run_in(&t.name, |_| work(1)).unwrap())
    });
    g.bench_function("ns_named_run", |b| {
        b.iter(|| NetNs::named(&t.name).unwrap().run(|| work(1)).unwrap())
    });
    g.finish();
}

/// 300 namespaces visited once each, reading `/proc/thread-self/net/dev` inside:
/// one iteration is the whole sweep. Warm: the runtime served them before; cold:
/// a new runtime per sweep (its first call starts a thread).
fn sweep(c: &mut Criterion) {
    let namespaces: Vec<NetNs> = (0..300)
        .map(|_| NetNs::create().expect("create (run as root)"))
        .collect();
    let home = File::open("/proc/thread-self/ns/net").expect("open home");
    let read = || {
        std::fs::read_to_string("/proc/thread-self/net/dev")
            .unwrap()
            .len()
    };
    let mut g = c.benchmark_group("sweep_300");
    g.sample_size(10);
    floor_row(&mut g);
    g.bench_function("setns_in_place", |b| {
        b.iter(|| {
            for ns in &namespaces {
                setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
                black_box(read());
                setns(home.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
            }
        })
    });
    let warm = Runtime::builder().build();
    g.bench_function("ns_run_warm", |b| {
        b.iter(|| {
            for ns in &namespaces {
                black_box(warm.run(ns, read).unwrap());
            }
        })
    });
    g.bench_function("ns_run_cold", |b| {
        b.iter(|| {
            let cold = Runtime::builder().build();
            for ns in &namespaces {
                black_box(cold.run(ns, read).unwrap());
            }
        })
    });
    g.finish();
}

/// Each call after a 200 µs pause, timed alone: what a caller pays for a wake-up.
fn sparse(c: &mut Criterion) {
    let t = Target::new();
    let peer = netns_rs::get_from_path(t.path()).expect("netns-rs open");
    let mpsc_tx = mpsc_thread(&t.file);
    let pause = Duration::from_micros(200);
    let timed = |iters: u64, call: &dyn Fn() -> u64| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            thread::sleep(pause);
            let start = Instant::now();
            black_box(call());
            total += start.elapsed();
        }
        total
    };
    let mut g = c.benchmark_group("sparse");
    g.sample_size(20);
    floor_row(&mut g);
    g.bench_function("park_unpark_floor", |b| {
        let floor = Floor::new(true);
        b.iter_custom(|n| timed(n, &|| floor.call(1)))
    });
    g.bench_function("setns_in_place", |b| {
        b.iter_custom(|n| timed(n, &|| setns_in_place(&t.file, &t.home, 1)))
    });
    g.bench_function("netns_rs_run", |b| {
        b.iter_custom(|n| timed(n, &|| peer.run(|_| work(1)).unwrap()))
    });
    g.bench_function("mpsc_thread", |b| {
        b.iter_custom(|n| timed(n, &|| mpsc_call(&mpsc_tx, 1)))
    });
    g.bench_function("ns_run", |b| {
        b.iter_custom(|n| timed(n, &|| t.ns.run(|| work(1)).unwrap()))
    });
    // The opt-in that trades a CPU kept busy while such calls go on for a
    // hand-off instead of a wake-up (the default sleeps at once: no CPU while idle).
    let latency_first = Runtime::builder().latency_first().build();
    g.bench_function("ns_run_latency_first", |b| {
        b.iter_custom(|n| timed(n, &|| latency_first.run(&t.ns, || work(1)).unwrap()))
    });
    // Without the timer set for a steady caller's next call: every call wakes
    // the thread, as calls that come at random do.
    let unanticipated = Runtime::builder().anticipate_steady_calls(false).build();
    g.bench_function("ns_run_not_anticipated", |b| {
        b.iter_custom(|n| timed(n, &|| unanticipated.run(&t.ns, || work(1)).unwrap()))
    });
    // Pauses of 100–300 µs at random (the default runtime): no steady rate.
    g.bench_function("ns_run_random_pause", |b| {
        b.iter_custom(|n| {
            let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
            let mut total = Duration::ZERO;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                thread::sleep(Duration::from_micros(100 + seed % 200));
                let start = Instant::now();
                black_box(t.ns.run(|| work(1)).unwrap());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

/// `callers` threads share `iters` calls; returns the wall time of all of them. Each
/// caller thread first makes its own call function (its own fds, its own channel
/// end), outside the timed part.
fn spread<'a>(
    iters: u64,
    callers: u64,
    make: &(dyn Fn() -> Box<dyn FnMut() + 'a> + Sync),
) -> Duration {
    let per_caller = iters.div_ceil(callers);
    let ready = std::sync::Barrier::new(callers as usize + 1);
    let finished = thread::scope(|s| {
        for _ in 0..callers {
            s.spawn(|| {
                let mut call = make();
                ready.wait();
                (0..per_caller).for_each(|_| call());
            });
        }
        ready.wait();
        Instant::now()
    });
    finished.elapsed()
}

/// Calls per second with 1, 2 and 8 caller threads, trivial body. Criterion's time
/// per iteration is wall time per call of the whole group of callers.
fn throughput(c: &mut Criterion) {
    let t = Target::new();
    let mpsc_tx = mpsc_thread(&t.file);
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(1));
    let mpsc_tx = std::sync::Mutex::new(mpsc_tx);
    let (t, mpsc_tx) = (&t, &mpsc_tx);
    for callers in [1_u64, 2, 8] {
        g.bench_with_input(
            BenchmarkId::new("setns_in_place", callers),
            &callers,
            |b, &n| {
                b.iter_custom(|iters| {
                    spread(iters, n, &|| {
                        // Each caller's home is its own thread's namespace.
                        let home = File::open("/proc/thread-self/ns/net").unwrap();
                        Box::new(move || {
                            black_box(setns_in_place(&t.file, &home, 1));
                        })
                    })
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("mpsc_thread", callers),
            &callers,
            |b, &n| {
                b.iter_custom(|iters| {
                    spread(iters, n, &|| {
                        let tx = mpsc_tx.lock().unwrap().clone();
                        Box::new(move || {
                            black_box(mpsc_call(&tx, 1));
                        })
                    })
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("ns_run", callers), &callers, |b, &n| {
            b.iter_custom(|iters| {
                spread(iters, n, &|| {
                    Box::new(move || {
                        black_box(t.ns.run(|| work(1)).unwrap());
                    })
                })
            })
        });
    }
    g.finish();
}

/// Throughput with 8 caller threads that live for the whole benchmark: the steady
/// state of a program whose threads call into a namespace, without criterion's
/// per-sample thread starts and their placement on the CPUs.
fn throughput_persistent(c: &mut Criterion) {
    let t = Target::new();
    let mut g = c.benchmark_group("throughput_persistent");
    g.throughput(Throughput::Elements(1));
    let t = &t;
    let in_place = || {
        // Each caller's home is its own thread's namespace.
        let home = File::open("/proc/thread-self/ns/net").unwrap();
        move || {
            black_box(setns_in_place(&t.file, &home, 1));
        }
    };
    let ours = || {
        move || {
            black_box(t.ns.run(|| work(1)).unwrap());
        }
    };
    // Each caller makes its share of criterion's iterations.
    let share = |iters: u64| Share::Calls(iters.div_ceil(8));
    thread::scope(|s| {
        let mut callers = persistent_callers(s, 8, &in_place);
        g.bench_function(BenchmarkId::new("setns_in_place", 8), |b| {
            b.iter_custom(|iters| callers(share(iters)).0)
        });
        let mut callers = persistent_callers(s, 8, &ours);
        g.bench_function(BenchmarkId::new("ns_run", 8), |b| {
            b.iter_custom(|iters| callers(share(iters)).0)
        });
    });
    g.finish();
}

/// 8 callers, a 1 ms body: the pool grows so that slow bodies run in parallel.
fn slow_body(c: &mut Criterion) {
    let t = Target::new();
    let single = Runtime::builder().max_threads_per_ns(1).build();
    let pooled = Runtime::builder().max_threads_per_ns(8).build();
    let body = || thread::sleep(Duration::from_millis(1));
    let mut g = c.benchmark_group("slow_body_8_callers");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    let t = &t;
    for (name, rt) in [("one_thread", &single), ("ns_run_pool", &pooled)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                spread(iters, 8, &|| Box::new(move || rt.run(&t.ns, body).unwrap()))
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = back_to_back, sparse, reopen_per_call, sweep, throughput, throughput_persistent, slow_body, async_calls, async_sleepers
}
criterion_main!(benches);
