//! Each latency against the floor measured right beside it, and eight callers
//! against one, in alternation: `cargo bench --bench paired` (as root) prints
//! the figures and writes them to `target/ns-bench/paired.json` for
//! `scripts/bench-report.py`.
//!
//! Why a bench of its own: the floor of a cross-thread call (two threads
//! spinning on one atomic slot) depends on where the host puts the two vCPUs it
//! runs on, and the host moves them. On the machines measured it jumps between
//! about 65 ns (one cache line between neighbouring cores) and about 320 ns
//! (between distant ones), from one minute to the next; a criterion group
//! measures its rows one after another, seconds apart, so a row and the floor
//! may have been measured on different placements. Here every round measures
//! each mechanism in a short batch right after the floor, and each round's
//! ratio is taken to its own floor; the report gives the median over the
//! rounds. The same for eight callers against one: each round times one caller,
//! then eight, with the same caller threads throughout.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ns_runtime::{in_netns, NetNs, Runtime};

#[path = "support/callers.rs"]
mod callers;
#[path = "support/floor.rs"]
mod floor;
use floor::{work, Floor};

/// Rounds, each with a batch of every mechanism (`NS_BENCH_ROUNDS`).
fn rounds() -> usize {
    std::env::var("NS_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(60)
}

/// Calls in one timed batch.
const BATCH: u64 = 20_000;

#[in_netns(ns)]
fn attribute_call(ns: &NetNs, x: u64) -> std::io::Result<u64> {
    Ok(work(x))
}

/// How long each mechanism warms up before its batch: long enough for the
/// scheduler to spread a caller and the thread it woke over two CPUs.
const WARM_UP: Duration = Duration::from_millis(5);

/// Nanoseconds per call of `call`, over a batch after a warm-up.
fn time_batch(mut call: impl FnMut(u64)) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < WARM_UP {
        call(1);
    }
    let start = Instant::now();
    for i in 0..BATCH {
        call(i);
    }
    start.elapsed().as_nanos() as f64 / BATCH as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A mechanism's batches and their ratios to the floor (or the baseline) of
/// the same round.
#[derive(Default)]
struct Series {
    times: Vec<f64>,
    ratios: Vec<f64>,
}

impl Series {
    fn add(&mut self, time: f64, baseline: f64) {
        self.times.push(time);
        self.ratios.push(time / baseline);
    }

    /// `(median time, median ratio, lowest ratio, highest ratio)`.
    fn summary(&self) -> (f64, f64, f64, f64) {
        let mut ratios = self.ratios.clone();
        let ratio = median(&mut ratios);
        (
            median(&mut self.times.clone()),
            ratio,
            ratios[0],
            ratios[ratios.len() - 1],
        )
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter means another bench was asked for.
    if std::env::args().skip(1).any(|arg| !arg.starts_with('-')) {
        return;
    }
    let ns = NetNs::create().expect("create a namespace (run as root)");
    let custom = Runtime::builder().build();
    let floor = Floor::new(false);
    let rounds = rounds();

    let mut floors = Vec::new();
    let mut back_to_back: Vec<(&str, Series)> = ["ns_run", "custom_runtime_run", "in_netns_fn"]
        .into_iter()
        .map(|name| (name, Series::default()))
        .collect();
    let (mut one_caller, mut eight_callers) = (Vec::new(), Series::default());

    let ns = &ns;
    let call = || {
        move || {
            black_box(ns.run(|| work(1)).unwrap());
        }
    };
    std::thread::scope(|scope| {
        let mut one = callers::persistent_callers(scope, 1, &call);
        let mut eight = callers::persistent_callers(scope, 8, &call);
        for _ in 0..rounds {
            floor.active(true);
            let floor_ns = time_batch(|i| {
                black_box(floor.call(i));
            });
            floor.active(false);
            floors.push(floor_ns);
            for (name, series) in &mut back_to_back {
                let time = match *name {
                    "ns_run" => time_batch(|i| {
                        black_box(ns.run(move || work(i)).unwrap());
                    }),
                    "custom_runtime_run" => time_batch(|i| {
                        black_box(custom.run(ns, move || work(i)).unwrap());
                    }),
                    _ => time_batch(|i| {
                        black_box(attribute_call(ns, i).unwrap());
                    }),
                };
                series.add(time, floor_ns);
            }
            let per_call = |elapsed: Duration, calls: u64| elapsed.as_nanos() as f64 / calls as f64;
            one(BATCH / 4);
            let one_ns = per_call(one(BATCH), BATCH);
            eight(BATCH / 4);
            let eight_ns = per_call(eight(BATCH), BATCH.div_ceil(8) * 8);
            one_caller.push(one_ns);
            eight_callers.add(eight_ns, one_ns);
        }
    });

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let floor_median = median(&mut floors);
    let (floor_low, floor_high) = (floors[0], floors[floors.len() - 1]);
    println!("{rounds} rounds of {BATCH} calls each, CPU: {cpu}");
    println!(
        "spin_slot_floor: median {floor_median:.1} ns (from {floor_low:.1} to {floor_high:.1} ns)"
    );
    let mut rows = Vec::new();
    for (name, series) in &back_to_back {
        let (time, ratio, low, high) = series.summary();
        println!(
            "{name}: median {time:.1} ns; ÷ the floor of its round: median {ratio:.2} (from {low:.2} to {high:.2})"
        );
        rows.push(format!(
            "{{\"name\": \"{name}\", \"median_ns\": {time:.1}, \"ratio\": {ratio:.3}, \"ratio_low\": {low:.3}, \"ratio_high\": {high:.3}}}"
        ));
    }
    let one_median = median(&mut one_caller.clone());
    let (eight_time, eight_ratio, eight_low, eight_high) = eight_callers.summary();
    println!(
        "1 caller: median {one_median:.1} ns per call; 8 callers: median {eight_time:.1} ns per call; 8 ÷ 1 per round: median {eight_ratio:.2} (from {eight_low:.2} to {eight_high:.2})"
    );
    let json = format!(
        "{{\"cpu\": \"{cpu}\", \"rounds\": {rounds}, \"batch\": {BATCH}, \"floor_ns\": {floor_median:.1}, \"floor_low_ns\": {floor_low:.1}, \"floor_high_ns\": {floor_high:.1}, \"back_to_back\": [{}], \"one_caller_ns\": {one_median:.1}, \"eight_callers_ns\": {eight_time:.1}, \"eight_over_one\": {eight_ratio:.3}, \"eight_over_one_low\": {eight_low:.3}, \"eight_over_one_high\": {eight_high:.3}}}\n",
        rows.join(", ")
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ns-bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("paired.json"), json);
}
