//! What a steady call rate costs in CPU: one thread calls a trivial body into one
//! namespace at 300, 1,000 and 3,000 calls per second for 2 s, and the process's
//! CPU time (`getrusage`, user + system) is divided by the wall time. Side by
//! side in one run: pacing alone (the loop without calls), `setns` in place,
//! `ns.run` with the default (frugal) settings and with `latency_first()`,
//! `run_async` awaited from a tokio runtime, and tokio `spawn_blocking` with
//! `setns` and set back. `cargo bench --bench steady` (as root) prints the table
//! and writes `target/ns-bench/steady.json` for `scripts/bench-report.py`.

use std::fs::{self, File};
use std::hint::black_box;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use ns_runtime::{NetNs, Runtime};

const RATES: [u32; 3] = [300, 1_000, 3_000];
const WINDOW: Duration = Duration::from_secs(2);

/// User + system CPU time of the whole process.
fn cpu_time() -> Duration {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let time =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    time(usage.user_time()) + time(usage.system_time())
}

/// Calls `call` at `rate` per second for the window (sleeping until each next
/// deadline); returns the process's CPU as a percentage of one core, and the
/// median latency of a call in nanoseconds.
fn paced(rate: u32, mut call: impl FnMut()) -> (f64, f64) {
    let interval = Duration::from_secs(1) / rate;
    // Let every thread settle (idle spins end) before measuring.
    std::thread::sleep(Duration::from_millis(50));
    let mut latencies = Vec::with_capacity((rate * 3) as usize);
    let cpu_before = cpu_time();
    let start = Instant::now();
    let mut next = start;
    while start.elapsed() < WINDOW {
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let began = Instant::now();
        call();
        latencies.push(began.elapsed().as_nanos() as f64);
    }
    let wall = start.elapsed();
    let cpu = cpu_time() - cpu_before;
    latencies.sort_by(f64::total_cmp);
    let median = latencies.get(latencies.len() / 2).copied().unwrap_or(0.0);
    (cpu.as_secs_f64() / wall.as_secs_f64() * 100.0, median)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends: nothing to list
    }
    let ns = NetNs::create().expect("create (run as root)");
    let target = File::open(format!("/proc/self/fd/{}", {
        use std::os::fd::AsRawFd;
        ns.as_fd().as_raw_fd()
    }))
    .expect("open the namespace");
    let home = File::open("/proc/thread-self/ns/net").expect("open home");
    let frugal = Runtime::builder().build();
    let eager = Runtime::builder().latency_first().build();
    let unanticipating = Runtime::builder().anticipate_steady_calls(false).build();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let pool = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio");

    let work = |x: u64| black_box(x).wrapping_mul(3);
    let mut rows: Vec<(&str, u32, f64, f64)> = Vec::new();
    for rate in RATES {
        let (cpu, lat) = paced(rate, || {});
        rows.push(("pacing_only", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            setns(target.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
            black_box(work(1));
            setns(home.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
        });
        rows.push(("setns_in_place", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            black_box(frugal.run(&ns, || work(1)).unwrap());
        });
        rows.push(("ns_run_default", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            black_box(eager.run(&ns, || work(1)).unwrap());
        });
        rows.push(("ns_run_latency_first", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            black_box(unanticipating.run(&ns, || work(1)).unwrap());
        });
        rows.push(("ns_run_not_anticipated", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            let out = tokio.block_on(frugal.run_async(&ns, move || async move { work(1) }));
            black_box(out.unwrap());
        });
        rows.push(("run_async_default", rate, cpu, lat));
        let (cpu, lat) = paced(rate, || {
            let (t, h) = (target.try_clone().unwrap(), home.try_clone().unwrap());
            let out = pool.block_on(async move {
                tokio::task::spawn_blocking(move || {
                    setns(t.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
                    let out = work(1);
                    setns(h.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
                    out
                })
                .await
            });
            black_box(out.unwrap());
        });
        rows.push(("spawn_blocking_setns", rate, cpu, lat));
    }

    println!(
        "{:<22} {:>8} {:>12} {:>14}",
        "mechanism", "calls/s", "CPU % core", "median call"
    );
    let mut json = String::from("[");
    for (i, (name, rate, cpu, lat)) in rows.iter().enumerate() {
        println!("{name:<22} {rate:>8} {cpu:>11.1}% {:>11.1} µs", lat / 1e3);
        let sep = if i == 0 { "" } else { ", " };
        json.push_str(&format!(
            "{sep}{{\"mechanism\": \"{name}\", \"rate\": {rate}, \"cpu_percent\": {cpu:.2}, \"median_ns\": {lat:.0}}}"
        ));
    }
    json.push_str("]\n");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ns-bench");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::write(dir.join("steady.json"), json);
}
