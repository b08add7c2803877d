//! What starting a process in namespaces costs: spawn + wait of `/bin/true`,
//! side by side in one run, each mechanism once per round (so that drift hits
//! all alike):
//!
//! - `command_plain`: `Command::status`, no namespaces (the floor);
//! - `netns_status`: `NetNs::status` of an anonymous network namespace (the
//!   child joins it; forked by the calling thread);
//! - `set_status_all`: `NsSet::of_pid_all(PID).status` into a container-like
//!   process's eight namespaces (user, pid and time included: forked by a
//!   helper thread that joined the pid namespace);
//! - `nsenter_all`: `nsenter --target PID --all /bin/true` (what one runs
//!   without this crate: one more program, which forks again for the pid
//!   namespace);
//! - `named_netns_status` and `ip_netns_exec`: a named network namespace, by
//!   this crate and by `ip netns exec NAME /bin/true` (both give the child a
//!   mount namespace with `/sys` remounted).
//!
//! - `spin_slot_floor`: the floor of a cross-thread call (two threads spinning
//!   on one slot), a thousand calls per round, per call: what every latency
//!   here is also held against.
//!
//! `cargo bench --bench spawn` (as root) prints the medians with their ratios to
//! the plain `Command` and to the tool each replaces, and writes
//! `target/ns-bench/spawn.json` for `scripts/bench-report.py`.
//! `NSRT_SPAWN_ROUNDS` sets the number of rounds (default 300).

use std::fs;
use std::process::Command;
use std::time::Instant;

use ns_runtime::{Namespaces, NetNs, NsSet};

/// The tests' helpers: `Container`, a process in new namespaces of all eight kinds.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/floor.rs"]
mod floor;

const TRUE: &str = "/bin/true";

/// A named network namespace, removed when dropped.
struct Named(String, NetNs);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = NetNs::remove_named(&self.0);
    }
}

fn succeeded(status: std::process::ExitStatus) {
    assert!(status.success(), "{status}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends: nothing to list
    }
    let rounds: usize = std::env::var("NSRT_SPAWN_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
        .max(1);
    let container = common::Container::start();
    let pid = container.pid().to_string();
    let set = NsSet::of_pid_all(container.pid()).expect("of_pid_all (run as root)");
    let anonymous = NetNs::create().expect("create");
    let name = format!("nsrt-bench-spawn-{}", std::process::id());
    let _ = NetNs::remove_named(&name);
    let named = Named(
        name.clone(),
        NetNs::create_named(&name).expect("create_named"),
    );

    type Run<'a> = Box<dyn Fn() + 'a>;
    let mechanisms: Vec<(&str, Run<'_>)> = vec![
        (
            "command_plain",
            Box::new(|| succeeded(Command::new(TRUE).status().expect("spawn"))),
        ),
        (
            "netns_status",
            Box::new(|| succeeded(anonymous.status(&mut Command::new(TRUE)).expect("spawn"))),
        ),
        (
            "set_status_all",
            Box::new(|| succeeded(set.status(&mut Command::new(TRUE)).expect("spawn"))),
        ),
        (
            "nsenter_all",
            Box::new(|| {
                let mut nsenter = Command::new("nsenter");
                nsenter.args(["--target", &pid, "--all", TRUE]);
                succeeded(nsenter.status().expect("run nsenter"));
            }),
        ),
        (
            "named_netns_status",
            Box::new(|| succeeded(named.1.status(&mut Command::new(TRUE)).expect("spawn"))),
        ),
        (
            "ip_netns_exec",
            Box::new(|| {
                let mut ip = Command::new("ip");
                ip.args(["netns", "exec", &name, TRUE]);
                succeeded(ip.status().expect("run ip"));
            }),
        ),
    ];

    // One round to warm up (the runtime's helper thread spawner, page cache).
    for (_, run) in &mechanisms {
        run();
    }
    // Its server spins only while its calls are timed, not beside the spawns.
    let floor = floor::Floor::new(false);
    floor.active(false);
    const FLOOR_CALLS: u32 = 1000;
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); mechanisms.len()];
    let mut floor_samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        for ((_, run), times) in mechanisms.iter().zip(&mut samples) {
            let start = Instant::now();
            run();
            times.push(start.elapsed().as_nanos() as f64);
        }
        floor.active(true);
        let start = Instant::now();
        for _ in 0..FLOOR_CALLS {
            floor.call(1);
        }
        floor_samples.push(start.elapsed().as_nanos() as f64 / f64::from(FLOOR_CALLS));
        floor.active(false);
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    let floor_ns = median(&mut floor_samples);
    let median_of = |wanted: &str| {
        let at = mechanisms.iter().position(|(name, _)| *name == wanted);
        at.map_or(f64::NAN, |at| medians[at])
    };
    let plain = median_of("command_plain");
    // What each row replaces: the tool one would run instead.
    let peer = |name: &str| match name {
        "set_status_all" => Some("nsenter_all"),
        "named_netns_status" => Some("ip_netns_exec"),
        _ => None,
    };

    println!("spawn + wait of {TRUE}, median of {rounds} rounds");
    println!(
        "{:<20} {:>12} {:>10} {:>14} {:>10}",
        "mechanism", "median", "/ plain", "/ replaced tool", "/ floor"
    );
    println!(
        "{:<20} {floor_ns:>9.1} ns {:>10.5} {:>14} {:>10.2}",
        "spin_slot_floor",
        floor_ns / plain,
        "",
        1.0
    );
    let mut json = format!(
        "[{{\"mechanism\": \"spin_slot_floor\", \"median_ns\": {floor_ns:.1}, \"over_plain\": {:.6}, \"over_floor\": 1.0}}",
        floor_ns / plain
    );
    for ((name, _), median) in mechanisms.iter().zip(&medians) {
        let over_peer = peer(name).map(|p| median / median_of(p));
        let peer_cell = over_peer.map_or(String::new(), |r| format!("{r:.2}"));
        println!(
            "{name:<20} {:>9.0} µs {:>10.2} {peer_cell:>14} {:>10.0}",
            median / 1e3,
            median / plain,
            median / floor_ns
        );
        let peer_json = match (peer(name), over_peer) {
            (Some(p), Some(r)) => format!(", \"peer\": \"{p}\", \"over_peer\": {r:.3}"),
            _ => String::new(),
        };
        json.push_str(&format!(
            ", {{\"mechanism\": \"{name}\", \"median_ns\": {median:.0}, \"over_plain\": {:.3}, \"over_floor\": {:.0}{peer_json}}}",
            median / plain,
            median / floor_ns
        ));
    }
    json.push_str("]\n");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ns-bench");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::write(dir.join("spawn.json"), json);
}
