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
    "back_to_back": ("setns_in_place", ["direct_call", "spin_slot_floor", "setns_in_place", "netns_rs_run",
                     "thread_per_call", "spawn_blocking_setns", "mpsc_thread", "ns_run",
                     "custom_runtime_run", "in_netns_fn"]),
    "sparse": ("setns_in_place", ["park_unpark_floor", "setns_in_place", "netns_rs_run", "mpsc_thread", "ns_run"]),
    "reopen_per_call": ("netns_rs_run_in", ["setns_in_place_open", "netns_rs_run_in", "ns_named_run"]),
    "sweep_300": ("setns_in_place", ["setns_in_place", "ns_run_warm", "ns_run_cold"]),
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


# The floor of a cross-thread call (two threads spinning on one slot), measured in
# the same run: every latency table carries it as a row and a column of ratios, so
# that figures from machines whose `setns` costs differ (0.36 µs, 2.1 µs) compare.
FLOOR = median_ns("back_to_back", "spin_slot_floor")
# A sweep visits 300 namespaces: its floor is 300 cross-thread calls.
FLOOR_CALLS = {"sweep_300": 300}
THROUGHPUT = ("throughput", "throughput_persistent", "slow_body_8_callers")

print(f"Machine: {machine()}\n")
if FLOOR:
    print(f"Floor of a cross-thread call in this run (two threads spinning on one slot): {fmt_time(FLOOR)}\n")
for group, (baseline, rows) in GROUPS.items():
    base = median_ns(group, baseline)
    print(f"### {group}\n")
    latency = group not in THROUGHPUT
    floor = FLOOR * FLOOR_CALLS.get(group, 1) if FLOOR else None
    if not latency:
        print(f"| mechanism | ns per call (median) | calls/s | speed vs `{baseline}` |")
        print("|---|---:|---:|---:|")
    else:
        print(f"| mechanism | median | time ÷ `{baseline}` | time ÷ floor |")
        print("|---|---:|---:|---:|")
        if floor and group != "back_to_back":
            print(f"| spin_slot_floor (back_to_back, same run) | {fmt_time(floor)} | {floor / base:.3f} | 1.00 |")
    for row in rows:
        ns = median_ns(group, row.replace("/", os.sep))
        if ns is None:
            print(f"| {row} | (not run) | | |" if latency else f"| {row} | (not run) | | |")
            continue
        ratio = ns / base if base else float("nan")
        if not latency:
            print(f"| {row} | {ns:.0f} | {1e9 / ns:,.0f} | {1 / ratio:.2f}x |")
        else:
            over_floor = f"{ns / floor:.2f}" if floor else ""
            print(f"| {row} | {fmt_time(ns)} | {ratio:.3f} | {over_floor} |")
    print()

scale = os.path.join(target, "ns-bench", "scale.json")
if os.path.exists(scale):
    with open(scale) as f:
        s = json.load(f)
    print("### scale\n")
    print("| figure | value |\n|---|---:|")
    print(f"| 1000 namespaces created (`NetNs::create` from one thread per vCPU) | {s['created_ms']:.0f} ms |")
    print(f"| 1000 first calls (a runtime thread moves in: `setns`, run) | {s['first_calls_ms']:.0f} ms |")
    print(f"| both, in all | {s['total_ms']:.0f} ms |")
    print(f"| runtime threads alive after the 1000 first calls | {s.get('threads_after', '?')} |")
    print(f"| last handle dropped → no thread inside (median / max of 100) | {s.get('release_median_us', 0):.0f} µs / {s.get('release_max_us', 0):.0f} µs |")
    print(f"| process RSS growth for 1000 namespaces | {s['rss_growth_mib']:.1f} MiB |")
    print(f"| CPU of {s['idle_threads']} idle runtime threads over 5 s | {s['idle_cpu_percent']:.2f} % of one CPU |")

steady = os.path.join(target, "ns-bench", "steady.json")
if os.path.exists(steady):
    with open(steady) as f:
        rows = json.load(f)
    by = {(r["mechanism"], r["rate"]): r for r in rows}
    rates = sorted({r["rate"] for r in rows})
    mechanisms = list(dict.fromkeys(r["mechanism"] for r in rows))
    print("### CPU at a steady rate (process CPU, % of one core; median call in µs)\n")
    print("| mechanism | " + " | ".join(f"{rate}/s" for rate in rates) + " |")
    print("|---|" + "---:|" * len(rates))
    for m in mechanisms:
        cells = []
        for rate in rates:
            r = by.get((m, rate))
            cells.append(f"{r['cpu_percent']:.1f} % ({r['median_ns'] / 1e3:.1f} µs)" if r else "")
        print(f"| {m} | " + " | ".join(cells) + " |")
    print()
    for rate in rates:
        base, ours = by.get(("setns_in_place", rate)), by.get(("ns_run_default", rate))
        if base and ours:
            budget = 3 * base["cpu_percent"] + 2
            print(f"- {rate}/s: `ns.run` default {ours['cpu_percent']:.1f} % against a budget of 3 × {base['cpu_percent']:.1f} % + 2 = {budget:.1f} %: {'met' if ours['cpu_percent'] <= budget else 'NOT met'}")
    print()

spawn = os.path.join(target, "ns-bench", "spawn.json")
if os.path.exists(spawn):
    with open(spawn) as f:
        rows = json.load(f)
    print("### starting a process in namespaces (spawn + wait of /bin/true, median)\n")
    print("| mechanism | median | / plain `Command` | / the tool it replaces |\n|---|---:|---:|---:|")
    for r in rows:
        peer = f"{r['over_peer']:.2f} (`{r['peer']}`)" if "over_peer" in r else ""
        print(f"| {r['mechanism']} | {r['median_ns'] / 1e3:.0f} µs | {r['over_plain']:.2f} | {peer} |")
    print()
