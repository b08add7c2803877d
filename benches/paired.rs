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
use callers::Share;
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

/// Calls in one timed batch of one caller.
const BATCH: u64 = 20_000;

/// Calls in one timed batch of the callers' comparison, shared out equally:
/// long enough that releasing the caller threads (a wake-up each) weighs little.
const CALLERS_BATCH: u64 = 200_000;

/// How long the callers call, as often as they can, for their rate together.
const CALLERS_WINDOW: Duration = Duration::from_millis(30);

#[in_netns(ns)]
fn attribute_call(ns: &NetNs, x: u64) -> std::io::Result<u64> {
    Ok(work(x))
}

/// How long each mechanism warms up before its batch: long enough for the
/// scheduler to spread a caller and the thread it woke over two CPUs.
const WARM_UP: Duration = Duration::from_millis(5);

/// Nanoseconds per call of `call`, over a batch after a warm-up.
fn time_batch(mut call: impl FnMut(u64)) -> f64 {
    // (The clock read every 256 calls: the warm-up calls as the batch does.)
    let warm = Instant::now();
    while warm.elapsed() < WARM_UP {
        for _ in 0..256 {
            call(1);
        }
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

/// Floors below this were measured with the two threads on neighbouring cores
/// (about 65 ns on the machines measured), above it on distant ones (about
/// 320 ns); the report gives the ratios of each kind of round apart.
const NEAR_FLOOR_NS: f64 = 150.0;

/// A mechanism's batches, each with the floor (or baseline) of its round.
#[derive(Default)]
struct Series {
    rounds: Vec<(f64, f64)>,
}

/// Median time and median ratio of some rounds, with the lowest and highest
/// ratio.
struct Summary {
    rounds: usize,
    time: f64,
    ratio: f64,
    low: f64,
    high: f64,
}

impl Summary {
    fn of(rounds: &[(f64, f64)]) -> Option<Summary> {
        if rounds.is_empty() {
            return None;
        }
        let mut ratios: Vec<f64> = rounds.iter().map(|(base, time)| time / base).collect();
        let ratio = median(&mut ratios);
        let mut times: Vec<f64> = rounds.iter().map(|&(_, time)| time).collect();
        Some(Summary {
            rounds: rounds.len(),
            time: median(&mut times),
            ratio,
            low: ratios[0],
            high: ratios[ratios.len() - 1],
        })
    }

    fn json(&self) -> String {
        format!(
            "{{\"rounds\": {}, \"median_ns\": {:.1}, \"ratio\": {:.3}, \"ratio_low\": {:.3}, \"ratio_high\": {:.3}}}",
            self.rounds, self.time, self.ratio, self.low, self.high
        )
    }

    fn text(&self) -> String {
        format!(
            "median {:.1} ns, ratio {:.2} (from {:.2} to {:.2}) over {} rounds",
            self.time, self.ratio, self.low, self.high, self.rounds
        )
    }
}

impl Series {
    fn add(&mut self, time: f64, baseline: f64) {
        self.rounds.push((baseline, time));
    }

    /// Every round, then the rounds of a near floor, then those of a far one
    /// (`floors`: each round's floor).
    fn summaries(&self, floors: &[f64]) -> [Option<Summary>; 3] {
        let near = |near: bool| -> Vec<(f64, f64)> {
            self.rounds
                .iter()
                .zip(floors)
                .filter(|(_, &floor)| (floor < NEAR_FLOOR_NS) == near)
                .map(|(&round, _)| round)
                .collect()
        };
        [
            Summary::of(&self.rounds),
            Summary::of(&near(true)),
            Summary::of(&near(false)),
        ]
    }
}

fn summaries_json(summaries: &[Option<Summary>; 3]) -> String {
    let json =
        |summary: &Option<Summary>| summary.as_ref().map_or("null".to_owned(), Summary::json);
    format!(
        "\"all\": {}, \"near\": {}, \"far\": {}",
        json(&summaries[0]),
        json(&summaries[1]),
        json(&summaries[2])
    )
}

fn print_summaries(name: &str, summaries: &[Option<Summary>; 3]) {
    for (class, summary) in ["all rounds", "near floor", "far floor"]
        .iter()
        .zip(summaries)
    {
        if let Some(summary) = summary {
            println!("{name} ({class}): {}", summary.text());
        }
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
    // The callers' comparison two ways: calls made in a window (the rate), and
    // the time until each caller made its share (the rate, less a caller the
    // scheduler left behind).
    let (mut one_caller, mut eight_callers) = (Vec::new(), Series::default());
    let (mut one_caller_shares, mut eight_callers_shares) = (Vec::new(), Series::default());

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
            let per_call =
                |(elapsed, calls): (Duration, u64)| elapsed.as_nanos() as f64 / calls as f64;
            one(Share::For(WARM_UP));
            let one_ns = per_call(one(Share::For(CALLERS_WINDOW)));
            eight(Share::For(WARM_UP));
            let eight_ns = per_call(eight(Share::For(CALLERS_WINDOW)));
            let shares = Share::Calls(CALLERS_BATCH.div_ceil(8));
            let one_shares_ns = per_call(one(Share::Calls(CALLERS_BATCH)));
            let eight_shares_ns = per_call(eight(shares));
            one_caller.push(one_ns);
            eight_callers.add(eight_ns, one_ns);
            one_caller_shares.push(one_shares_ns);
            eight_callers_shares.add(eight_shares_ns, one_shares_ns);
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
    let floor_summaries = {
        let mut floor_series = Series::default();
        for &floor in &floors {
            floor_series.add(floor, floor);
        }
        floor_series.summaries(&floors)
    };
    println!("{rounds} rounds of {BATCH} calls each, CPU: {cpu}");
    print_summaries("spin_slot_floor", &floor_summaries);
    let mut rows = Vec::new();
    for (name, series) in &back_to_back {
        let summaries = series.summaries(&floors);
        print_summaries(name, &summaries);
        rows.push(format!(
            "{{\"name\": \"{name}\", {}}}",
            summaries_json(&summaries)
        ));
    }
    let one_median = median(&mut one_caller.clone());
    let eight = eight_callers.summaries(&floors);
    println!("1 caller: median {one_median:.1} ns per call");
    print_summaries("8 callers ÷ 1 caller, rate", &eight);
    let one_shares_median = median(&mut one_caller_shares.clone());
    let eight_shares = eight_callers_shares.summaries(&floors);
    println!("1 caller, {CALLERS_BATCH} calls: median {one_shares_median:.1} ns per call");
    print_summaries("8 callers ÷ 1 caller, until the last share", &eight_shares);
    let json = format!(
        "{{\"cpu\": \"{cpu}\", \"rounds\": {rounds}, \"batch\": {BATCH}, \"near_floor_ns\": {NEAR_FLOOR_NS}, \"floor\": {{{}}}, \"back_to_back\": [{}], \"callers_window_ms\": {}, \"one_caller_ns\": {one_median:.1}, \"eight_over_one\": {{{}}}, \"callers_batch\": {CALLERS_BATCH}, \"one_caller_shares_ns\": {one_shares_median:.1}, \"eight_over_one_shares\": {{{}}}}}\n",
        summaries_json(&floor_summaries),
        rows.join(", "),
        CALLERS_WINDOW.as_millis(),
        summaries_json(&eight),
        summaries_json(&eight_shares)
    );
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ns-bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("paired.json"), json);
}
