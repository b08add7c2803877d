//! What criterion cannot measure: the time and memory of 1000 namespaces and a
//! first call into each, how many runtime threads that leaves, the CPU idle
//! runtime threads use, and how long after its last handle is dropped a
//! namespace has no thread of ours left in it. `cargo bench --bench scale` (as
//! root) prints the figures and writes them to `target/ns-bench/scale.json` for
//! `scripts/bench-report.py`.

use std::fs;
use std::time::{Duration, Instant};

use ns_runtime::{NetNs, Runtime};

/// Clock ticks per second of `/proc/*/stat` times (`sysconf(_SC_CLK_TCK)`).
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// Runtime threads of this process (named `ns-<inode>`, `nsk-<inode>` or `ns-idle`).
fn runtime_threads() -> Vec<std::path::PathBuf> {
    fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| fs::read_to_string(dir.join("comm")).is_ok_and(|name| name.starts_with("ns")))
        .collect()
}

/// How many threads of this process are in the network namespace `inode`.
fn threads_in(inode: u64) -> usize {
    let link = format!("net:[{inode}]");
    fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
        .filter(|entry| {
            fs::read_link(entry.path().join("ns/net"))
                .is_ok_and(|target| target.to_str() == Some(link.as_str()))
        })
        .count()
}

/// User + system CPU ticks of this process's runtime threads.
fn namespace_thread_ticks() -> u64 {
    let mut total = 0;
    for dir in runtime_threads() {
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the parenthesised name: state is field 3; utime 14, stime 15.
        let after_name = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        total += utime + stime;
    }
    total
}

fn rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends: nothing to list
    }
    let rt = Runtime::builder()
        .keep_alive(Duration::from_secs(120))
        .build();

    // 1. 1000 namespaces and a first call into each.
    let rss_before = rss_kib();
    let start = Instant::now();
    // From one thread per vCPU: the kernel creates network namespaces in parallel.
    let creators = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut namespaces: Vec<NetNs> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..creators)
            .map(|i| {
                let count = 1000 / creators + usize::from(i < 1000 % creators);
                s.spawn(move || {
                    (0..count)
                        .map(|_| NetNs::create().expect("create (run as root)"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("creator thread"))
            .collect()
    });
    assert_eq!(namespaces.len(), 1000);
    let created = start.elapsed();
    let first_calls = Instant::now();
    for ns in &namespaces {
        rt.run(ns, || ()).expect("first call");
    }
    let first_call = first_calls.elapsed();
    let total = start.elapsed();
    let threads_after = runtime_threads().len();
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = rss_kib();
    let rss_growth_mib = (rss_after.saturating_sub(rss_before)) as f64 / 1024.0;

    // 2. Release: a namespace called, then its last handle dropped; how long until
    // no thread of ours is in it.
    let mut releases: Vec<Duration> = namespaces
        .drain(..100)
        .map(|ns| {
            rt.run(&ns, || ()).expect("call");
            let inode = ns.inode();
            let dropped = Instant::now();
            drop(ns);
            while threads_in(inode) > 0 {
                std::thread::yield_now();
            }
            dropped.elapsed()
        })
        .collect();
    releases.sort();
    let release_median_us = releases[releases.len() / 2].as_secs_f64() * 1e6;
    let release_max_us = releases[releases.len() - 1].as_secs_f64() * 1e6;

    // 3. Idle: every runtime thread, with 100 namespaces still open, over 5 s.
    drop(namespaces.drain(100..).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(500)); // past every idle spin
    let idle_threads = runtime_threads().len();
    let window = Duration::from_secs(5);
    let ticks_before = namespace_thread_ticks();
    std::thread::sleep(window);
    let ticks = namespace_thread_ticks() - ticks_before;
    let idle_cpu_percent = ticks as f64 / clock_ticks() / window.as_secs_f64() * 100.0;

    println!(
        "1000 namespaces created ({creators} creator threads): {:>8.1} ms",
        created.as_secs_f64() * 1e3
    );
    println!(
        "1000 first calls:                      {:>8.1} ms",
        first_call.as_secs_f64() * 1e3
    );
    println!("runtime threads after them:            {threads_after:>8}");
    println!(
        "last handle dropped -> no thread inside: median {release_median_us:.0} µs, max {release_max_us:.0} µs (100 namespaces)"
    );
    println!(
        "created and first-called, in all:      {:>8.1} ms",
        total.as_secs_f64() * 1e3
    );
    println!("process RSS growth for 1000 namespaces: {rss_growth_mib:>7.1} MiB");
    println!("CPU of {idle_threads} idle runtime threads, 5 s: {idle_cpu_percent:>6.2} % of one CPU ({ticks} ticks)");

    let json = format!(
        "{{\"created_ms\": {:.1}, \"first_calls_ms\": {:.1}, \"total_ms\": {:.1}, \"threads_after\": {threads_after}, \"release_median_us\": {release_median_us:.0}, \"release_max_us\": {release_max_us:.0}, \"rss_growth_mib\": {:.1}, \"idle_cpu_percent\": {:.3}, \"idle_threads\": {idle_threads}}}\n",
        created.as_secs_f64() * 1e3,
        first_call.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        rss_growth_mib,
        idle_cpu_percent
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ns-bench");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::write(dir.join("scale.json"), json);
}
