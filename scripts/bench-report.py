#!/usr/bin/env python3
"""Turns the last `cargo bench` run into the tables of BENCHMARKS.md: medians from
criterion's estimates, ratios against a baseline measured in the same run, and the
figures of the `scale` bench. Usage: python3 scripts/bench-report.py [target-dir]"""

import json
import os
import platform
import sys

target = sys.argv[1] if len(sys.argv) > 1 else "target"
root = os.path.join(target, "criterion")

# group -> (baseline, rows in order); a row is a bench id under the group.
GROUPS = {
    "back_to_back": ("setns_in_place", ["direct_call", "setns_in_place", "netns_rs_run",
                     "thread_per_call", "spawn_blocking_setns", "mpsc_thread", "ns_run", "in_netns_fn"]),
    "sparse": ("setns_in_place", ["setns_in_place", "netns_rs_run", "mpsc_thread", "ns_run"]),
    "throughput": ("setns_in_place/8", [f"{m}/{n}" for n in (1, 2, 8)
                   for m in ("setns_in_place", "mpsc_thread", "ns_run")]),
    "throughput_persistent": ("setns_in_place/8", ["setns_in_place/8", "ns_run/8"]),
    "slow_body_8_callers": ("one_thread", ["one_thread", "ns_run_pool"]),
    "async_back_to_back": ("spawn_blocking_setns", ["direct_await", "spawn_blocking_setns",
                           "run_async", "in_netns_async_fn"]),
    "async_1000_sleeping_bodies": ("tokio_tasks", ["tokio_tasks", "run_async"]),
}


def median_ns(group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPUs, {cpu}, Linux {platform.release()}"


print(f"Machine: {machine()}\n")
for group, (baseline, rows) in GROUPS.items():
    base = median_ns(group, baseline)
    print(f"### {group}\n")
    if group in ("throughput", "throughput_persistent", "slow_body_8_callers"):
        print(f"| mechanism | ns per call (median) | calls/s | speed vs `{baseline}` |")
    else:
        print(f"| mechanism | median | time ÷ `{baseline}` |")
    print("|---|---:|---:|" + ("---:|" if group in ("throughput", "throughput_persistent", "slow_body_8_callers") else ""))
    for row in rows:
        ns = median_ns(group, row.replace("/", os.sep))
        if ns is None:
            print(f"| {row} | (not run) | |")
            continue
        ratio = ns / base if base else float("nan")
        if group in ("throughput", "throughput_persistent", "slow_body_8_callers"):
            print(f"| {row} | {ns:.0f} | {1e9 / ns:,.0f} | {1 / ratio:.2f}x |")
        else:
            print(f"| {row} | {fmt_time(ns)} | {ratio:.3f} |")
    print()

scale = os.path.join(target, "ns-bench", "scale.json")
if os.path.exists(scale):
    with open(scale) as f:
        s = json.load(f)
    print("### scale\n")
    print("| figure | value |\n|---|---:|")
    print(f"| 1000 namespaces created (`NetNs::create` from one thread per vCPU) | {s['created_ms']:.0f} ms |")
    print(f"| 1000 first calls (start a namespace thread, `setns`, run) | {s['first_calls_ms']:.0f} ms |")
    print(f"| both, in all | {s['total_ms']:.0f} ms |")
    print(f"| process RSS growth for 1000 namespace threads | {s['rss_growth_mib']:.1f} MiB |")
    print(f"| CPU of {s['idle_threads']} idle namespace threads over 5 s | {s['idle_cpu_percent']:.2f} % of one CPU |")
