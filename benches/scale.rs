//! What criterion cannot measure: the CPU that idle namespace threads use, and the
//! time and memory of 1000 namespaces with one thread each. `cargo bench --bench
//! scale` (as root) prints the figures and writes them to
//! `target/ns-bench/scale.json` for `scripts/bench-report.py`.

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

/// User + system CPU ticks of this process's namespace threads (named `ns-<inode>`).
fn namespace_thread_ticks() -> u64 {
    let mut total = 0;
    for entry in fs::read_dir("/proc/self/task").expect("tasks").flatten() {
        let dir = entry.path();
        let is_namespace_thread = fs::read_to_string(dir.join("comm"))
            .map(|name| name.starts_with("ns-4"))
            .unwrap_or(false);
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        if !is_namespace_thread {
            continue;
        }
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

    // 1. 1000 namespaces, one thread each.
    let rss_before = rss_kib();
    let start = Instant::now();
    // From one thread per vCPU: the kernel creates network namespaces in parallel.
    let creators = std::thread::available_parallelism().map_or(2, |n| n.get());
    let namespaces: Vec<NetNs> = std::thread::scope(|s| {
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
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = rss_kib();
    let rss_growth_mib = (rss_after.saturating_sub(rss_before)) as f64 / 1024.0;

    // 2. Idle: 100 of them (all 1000 threads are idle, in fact) over 5 s.
    drop(namespaces.into_iter().skip(100).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(500)); // past every idle spin
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
        "1000 first calls (one thread each):    {:>8.1} ms",
        first_call.as_secs_f64() * 1e3
    );
    println!(
        "created and first-called, in all:      {:>8.1} ms",
        total.as_secs_f64() * 1e3
    );
    println!("process RSS growth for 1000 threads:   {rss_growth_mib:>8.1} MiB");
    println!("CPU of 1000 idle namespace threads, 5 s: {idle_cpu_percent:>6.2} % of one CPU ({ticks} ticks)");

    let json = format!(
        "{{\"created_ms\": {:.1}, \"first_calls_ms\": {:.1}, \"total_ms\": {:.1}, \"rss_growth_mib\": {:.1}, \"idle_cpu_percent\": {:.3}, \"idle_threads\": 1000}}\n",
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
