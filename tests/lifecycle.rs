//! The life of runtime threads: they move between namespaces, leave a namespace
//! when its last handle is dropped, and follow concurrency rather than the number
//! of namespaces.

#[macro_use]
mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{thread_net_inode, threads_in, TestNs};
use ns_runtime::{NetNs, Runtime};

// The tests in this file run one at a time: they count the threads of the process.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Threads of this runtime (named `ns-*`): those in a namespace and those idle
/// at home.
fn runtime_threads() -> usize {
    common::tasks()
        .iter()
        .filter(|task| common::is_runtime_thread(task))
        .count()
}

fn tid() -> u32 {
    nix::unistd::gettid().as_raw() as u32
}

/// Waits until no thread of this process is in namespace `inode`, and returns
/// how long that took.
fn time_until_empty(inode: u64, dropped: Instant) -> Duration {
    while threads_in(inode) > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "threads stayed in a released namespace"
        );
        thread::sleep(Duration::from_millis(1));
    }
    dropped.elapsed()
}

fn dropping_the_last_handle_releases_the_namespace_within_100_ms() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A long keep-alive: release must not wait for it.
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    for sleeping in [false, true] {
        let ns = NetNs::create().unwrap();
        let inode = ns.inode();
        let clone = ns.clone();
        // Several threads inside: two callers with slow bodies at once.
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| rt.run(&ns, || thread::sleep(Duration::from_millis(20))));
            }
        });
        assert!(threads_in(inode) >= 1);
        if sleeping {
            // Past every spin: the threads are asleep inside.
            thread::sleep(Duration::from_millis(50));
        }
        drop(ns);
        // One handle is left: nothing moves.
        thread::sleep(Duration::from_millis(5));
        assert!(threads_in(inode) >= 1, "released while a handle was left");
        let dropped = Instant::now();
        drop(clone);
        let took = time_until_empty(inode, dropped);
        assert!(
            took < Duration::from_millis(100),
            "threads left {took:?} after the last handle (asleep: {sleeping})"
        );
    }
}

fn a_body_running_when_the_last_handle_goes_finishes_inside_then_its_thread_leaves() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    let inode = ns.inode();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let caller = {
        let ns = ns.clone();
        thread::spawn(move || {
            ns.run(|| {
                started_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(100));
                thread_net_inode()
            })
            .unwrap()
        })
    };
    started_rx.recv().unwrap();
    drop(ns); // the caller's clone is the last handle, alive during the call
    assert_eq!(caller.join().unwrap(), inode, "the body ran elsewhere");
    time_until_empty(inode, Instant::now());
}

fn a_veth_peer_on_the_host_disappears_with_the_namespace() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = std::process::id() % 100_000;
    let (inside, outside) = (format!("nri{n}"), format!("nro{n}"));
    let ns = NetNs::create().unwrap();
    let inode = ns.inode();
    // Made inside; one end moved to the namespace of this process's main thread.
    let made = ns
        .run(|| {
            Command::new("ip")
                .args(["link", "add", &inside, "type", "veth", "peer", "name"])
                .arg(&outside)
                .status()
                .and_then(|_| {
                    Command::new("ip")
                        .args(["link", "set", &outside, "netns"])
                        .arg(std::process::id().to_string())
                        .status()
                })
        })
        .unwrap()
        .unwrap();
    assert!(made.success());
    let on_host = || {
        let out = Command::new("ip")
            .args(["-o", "link", "show", "dev", &outside])
            .output()
            .unwrap();
        out.status.success()
    };
    assert!(on_host(), "the peer did not reach the host");
    let dropped = Instant::now();
    drop(ns);
    let took = time_until_empty(inode, dropped);
    assert!(took < Duration::from_millis(100), "released after {took:?}");
    // The kernel frees the namespace (and the pair) once nothing holds it; its
    // work queue may take a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    while on_host() {
        if Instant::now() > deadline {
            let _ = Command::new("ip").args(["link", "del", &outside]).status();
            panic!("the veth peer outlived the namespace");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn one_thread_serves_namespace_after_namespace_and_the_audit_stays_clean() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let namespaces: Vec<NetNs> = (0..20).map(|_| NetNs::create().unwrap()).collect();
    let mut served_by = std::collections::HashSet::new();
    for _ in 0..3 {
        for ns in &namespaces {
            let (inode, tid) = rt.run(ns, || (thread_net_inode(), tid())).unwrap();
            assert_eq!(inode, ns.inode());
            served_by.insert(tid);
        }
    }
    // One caller, one call at a time: a cached thread moves rather than one
    // starting per namespace (a busy machine may delay a move enough for one or
    // two more to start).
    assert!(
        served_by.len() <= 4,
        "{} threads served one caller",
        served_by.len()
    );
    let audit = ns_runtime::audit().unwrap();
    assert!(audit.is_clean(), "{audit:#?}");
    common::assert_threads_where_they_belong();
}

fn a_sweep_over_300_namespaces_leaves_a_handful_of_threads() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(60))
        .build();
    let namespaces: Vec<NetNs> = (0..300).map(|_| NetNs::create().unwrap()).collect();
    let before = runtime_threads();
    // From two callers at once, each visiting every namespace.
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for ns in &namespaces {
                    let dev = rt
                        .run(ns, || std::fs::read_to_string("/proc/thread-self/net/dev"))
                        .unwrap()
                        .unwrap();
                    assert!(dev.contains("lo:"));
                }
            });
        }
    });
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    let added = runtime_threads().saturating_sub(before);
    assert!(
        added <= 2 * cpus + 4,
        "{added} threads after a sweep over 300 namespaces ({cpus} CPUs)"
    );
    assert!(ns_runtime::audit().unwrap().is_clean());
}

fn reopening_a_named_namespace_for_every_call_reuses_a_thread() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let named = TestNs::new("reopen");
    let mut served_by = std::collections::HashSet::new();
    for _ in 0..200 {
        // What netns-rs's `run_in(name)` does: open, run, close, every time.
        let (inode, tid) = NetNs::named(&named.name)
            .unwrap()
            .run(|| (thread_net_inode(), tid()))
            .unwrap();
        assert_eq!(inode, named.ns.inode());
        served_by.insert(tid);
    }
    assert!(
        served_by.len() <= 2,
        "{} threads for 200 calls",
        served_by.len()
    );
}

/// A directory (removed when dropped) holding a file `marker` that says "here".
fn dir_with_marker() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("nsrt-cwd-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("marker"), "here").unwrap();
    dir
}

/// The calling thread's umask (`/proc/thread-self/status`: reading it does not
/// change it, as `umask(2)` would).
fn umask_of_this_thread() -> u32 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap();
    u32::from_str_radix(line.trim(), 8).unwrap()
}

fn relative_paths_follow_the_process_working_directory() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    ns.run(|| ()).unwrap(); // a thread is inside before the directory changes
    let dir = dir_with_marker();
    let previous = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let read = ns.run(|| std::fs::read_to_string("marker"));
    std::env::set_current_dir(previous).unwrap();
    assert_eq!(read.unwrap().unwrap(), "here");
}

fn with_private_fs_a_bodys_directory_and_umask_stay_on_its_thread() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder()
        .private_fs(true)
        .keep_alive(Duration::from_secs(60))
        .build();
    let (a, b) = (NetNs::create().unwrap(), NetNs::create().unwrap());
    let dir = dir_with_marker();
    let (program_dir, program_umask) = (std::env::current_dir().unwrap(), umask_of_this_thread());

    let (served_a, born_with) = rt
        .run(&a, || {
            let born_with = umask_of_this_thread();
            std::env::set_current_dir(dir.path()).unwrap();
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            (tid(), born_with)
        })
        .unwrap();
    assert_eq!(born_with, program_umask, "born with the process's umask");
    assert_eq!(
        std::env::current_dir().unwrap(),
        program_dir,
        "the program's cwd moved"
    );
    assert_eq!(
        umask_of_this_thread(),
        program_umask,
        "the program's umask changed"
    );

    // Released, the thread goes home rather than exit, serves `b` and keeps what
    // the body set (as documented).
    let inode = a.inode();
    let dropped = Instant::now();
    drop(a);
    time_until_empty(inode, dropped);
    let (served_b, read, umask) = rt
        .run(&b, || {
            let read = std::fs::read_to_string("marker");
            (tid(), read, umask_of_this_thread())
        })
        .unwrap();
    assert_eq!(
        served_b, served_a,
        "the thread should have gone home, then to `b`"
    );
    assert_eq!(read.unwrap(), "here");
    assert_eq!(umask, 0o077);
    assert_eq!(rt.run(&b, thread_net_inode).unwrap(), b.inode());

    // The async thread has its own too.
    let moved = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(rt.run_async(&b, || async { std::env::set_current_dir("/") }))
        .unwrap();
    moved.unwrap();
    assert_eq!(
        std::env::current_dir().unwrap(),
        program_dir,
        "an async body moved the program's cwd"
    );
    assert!(ns_runtime::audit().unwrap().is_clean());
}

fn dedicated_threads_keep_thread_locals_per_namespace() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    thread_local! {
        static SEEN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    let rt = Runtime::builder()
        .dedicated_threads(true)
        .keep_alive(Duration::from_secs(60))
        .build();
    let (a, b) = (NetNs::create().unwrap(), NetNs::create().unwrap());
    for _ in 0..3 {
        for ns in [&a, &b] {
            let inode = ns.inode();
            let seen = rt
                .run(ns, || SEEN.with(|seen| seen.replace(inode)))
                .unwrap();
            assert!(
                seen == 0 || seen == inode,
                "a thread moved between namespaces"
            );
        }
    }
    // Released: dedicated threads exit rather than go home.
    let inode = a.inode();
    let dropped = Instant::now();
    drop(a);
    time_until_empty(inode, dropped);
}

fn a_custom_runtime_and_the_global_one_serve_the_same_handle() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ns = NetNs::create().unwrap();
    let rts: Vec<Runtime> = (0..3).map(|_| Runtime::builder().build()).collect();
    let calls = AtomicUsize::new(0);
    thread::scope(|s| {
        for rt in &rts {
            let (ns, calls) = (&ns, &calls);
            s.spawn(move || {
                for _ in 0..100 {
                    assert_eq!(rt.run(ns, thread_net_inode).unwrap(), ns.inode());
                    assert_eq!(ns.run(thread_net_inode).unwrap(), ns.inode());
                    calls.fetch_add(2, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(calls.into_inner(), 600);
    let inode = ns.inode();
    drop(rts);
    let dropped = Instant::now();
    drop(ns);
    time_until_empty(inode, dropped);
}

tests! {
    dropping_the_last_handle_releases_the_namespace_within_100_ms,
    a_body_running_when_the_last_handle_goes_finishes_inside_then_its_thread_leaves,
    a_veth_peer_on_the_host_disappears_with_the_namespace,
    one_thread_serves_namespace_after_namespace_and_the_audit_stays_clean,
    a_sweep_over_300_namespaces_leaves_a_handful_of_threads,
    reopening_a_named_namespace_for_every_call_reuses_a_thread,
    relative_paths_follow_the_process_working_directory,
    with_private_fs_a_bodys_directory_and_umask_stay_on_its_thread,
    dedicated_threads_keep_thread_locals_per_namespace,
    a_custom_runtime_and_the_global_one_serve_the_same_handle,
}
