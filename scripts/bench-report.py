#!/usr/bin/env python3
"""Turns the last `cargo bench` run into the tables of BENCHMARKS.md: medians from
criterion's estimates, ratios against a baseline measured in the same run, and the
figures of the `scale` and `steady` benches; optionally a chart of the ratios.

Usage: python3 scripts/bench-report.py [TARGET_DIR] [--svg PATH] [--title TEXT]
                                       [--save-medians PATH | --medians PATH]

  TARGET_DIR           where `target/criterion` and `target/ns-bench` are (default `target`)
  --svg PATH           also write a bar chart of every ratio (SVG, no dependencies)
  --save-medians PATH  also write the medians read from criterion as JSON
  --medians PATH       read the medians from such a JSON file instead of criterion
                       (the committed docs/bench-medians.json regenerates the chart)

Rows that were not run are left out of the chart and marked in the tables."""

import argparse
import json
import os
import platform
import sys

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("target", nargs="?", default="target")
parser.add_argument("--svg")
parser.add_argument("--title", default="ns-runtime against the peers: time per call ÷ the baseline of its group")
source = parser.add_mutually_exclusive_group()
source.add_argument("--save-medians")
source.add_argument("--medians")
args = parser.parse_args()

target = args.target
root = os.path.join(target, "criterion")

# group -> (baseline, rows in order); a row is a bench id under the group.
GROUPS = {
    "back_to_back": ("setns_in_place", ["direct_call", "spin_slot_floor", "setns_in_place", "netns_rs_run",
                     "thread_per_call", "spawn_blocking_setns", "mpsc_thread", "ns_run",
                     "custom_runtime_run", "in_netns_fn"]),
    "sparse": ("setns_in_place", ["park_unpark_floor", "setns_in_place", "netns_rs_run", "mpsc_thread", "ns_run",
               "ns_run_latency_first", "ns_run_not_anticipated", "ns_run_random_pause"]),
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


def criterion_median(group, bench):
    path = os.path.join(root, group, *bench.split("/"), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def machine():
    # A hypervisor may hide the model number ("AMD EPYC"): family, model and
    # stepping still name the core.
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model", "stepping") and key not in fields:
                    fields[key] = value.strip()
                if not line.strip() and fields:
                    break
    except OSError:
        pass
    cpu = fields.get("model name", "unknown CPU")
    if "cpu family" in fields:
        cpu += f" (family {fields['cpu family']}, model {fields.get('model', '?')}, stepping {fields.get('stepping', '?')})"
    return f"{os.cpu_count()} vCPUs, {cpu}, Linux {platform.release()}"


# group -> bench -> median in ns, for every row of GROUPS that has one.
if args.medians:
    with open(args.medians) as f:
        saved = json.load(f)
    MEDIANS = saved.get("medians", {})
    MEDIANS_SOURCE = saved.get("source", args.medians)
else:
    MEDIANS = {}
    for group, (_, rows) in GROUPS.items():
        for bench in dict.fromkeys(rows + ["spin_slot_floor"]):
            ns = criterion_median(group, bench)
            if ns is not None:
                MEDIANS.setdefault(group, {})[bench] = ns
    MEDIANS_SOURCE = f"criterion ({root}), {machine()}"
if args.save_medians:
    with open(args.save_medians, "w") as f:
        json.dump({"source": MEDIANS_SOURCE, "medians": MEDIANS}, f, indent=1, sort_keys=True)
        f.write("\n")


def median_ns(group, bench):
    value = MEDIANS.get(group, {}).get(bench)
    return value if isinstance(value, (int, float)) and value > 0 else None


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


# The floor of a cross-thread call (two threads spinning on one slot): every
# latency table carries it as a row and a column of ratios, so that figures from
# machines whose `setns` costs differ (0.36 µs, 2.1 µs) compare. Each group
# measures its own (the host may move the two vCPUs between neighbouring and
# distant cores from one group to the next); back_to_back's stands in for a
# group run without one.
FLOOR = median_ns("back_to_back", "spin_slot_floor")
# A sweep visits 300 namespaces: its floor is 300 cross-thread calls.
FLOOR_CALLS = {"sweep_300": 300}
THROUGHPUT = ("throughput", "throughput_persistent", "slow_body_8_callers")

print(f"Medians: {MEDIANS_SOURCE}\n" if args.medians else f"Machine: {machine()}\n")
if FLOOR:
    print(f"Floor of a cross-thread call in `back_to_back` (two threads spinning on one slot): {fmt_time(FLOOR)}; every other latency table has its own\n")
for group, (baseline, rows) in GROUPS.items():
    base = median_ns(group, baseline)
    print(f"### {group}\n")
    latency = group not in THROUGHPUT
    own_floor = median_ns(group, "spin_slot_floor")
    one_floor = own_floor or FLOOR
    floor = one_floor * FLOOR_CALLS.get(group, 1) if one_floor else None
    if not latency:
        print(f"| mechanism | ns per call (median) | calls/s | speed vs `{baseline}` |")
        print("|---|---:|---:|---:|")
    else:
        print(f"| mechanism | median | time ÷ `{baseline}` | time ÷ floor |")
        print("|---|---:|---:|---:|")
        if floor and group != "back_to_back":
            vs_base = f"{floor / base:.3f}" if base else ""
            where = "this group" if own_floor else "back_to_back, same run"
            times = f" × {FLOOR_CALLS[group]}" if group in FLOOR_CALLS else ""
            print(f"| spin_slot_floor{times} ({where}) | {fmt_time(floor)} | {vs_base} | 1.00 |")
    for row in rows:
        ns = median_ns(group, row)
        if ns is None:
            print(f"| {row} | (not run) | | |")
            continue
        ratio = ns / base if base else float("nan")
        if not latency:
            print(f"| {row} | {ns:.0f} | {1e9 / ns:,.0f} | {1 / ratio:.2f}x |")
        else:
            over_floor = f"{ns / floor:.2f}" if floor else ""
            print(f"| {row} | {fmt_time(ns)} | {ratio:.3f} | {over_floor} |")
    print()

# The figures of the `scale` and `steady` benches (not part of a medians file).
scale = os.path.join(target, "ns-bench", "scale.json")
if not args.medians and os.path.exists(scale):
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
    print(f"| CPU of {s['idle_threads']} idle runtime threads over 5 s | {s['idle_cpu_percent']:.2f} % of one CPU |\n")

paired = os.path.join(target, "ns-bench", "paired.json")
if not args.medians and os.path.exists(paired):
    with open(paired) as f:
        p = json.load(f)

    def cell(summary, what):
        if not summary:
            return "(none)"
        if what == "time":
            return f"{fmt_time(summary['median_ns'])}"
        return f"{summary['ratio']:.2f} ({summary['ratio_low']:.2f}–{summary['ratio_high']:.2f}, {summary['rounds']} rounds)"

    near = p["near_floor_ns"]
    print(f"### paired: each round's batch ÷ the floor measured right before it ({p['rounds']} rounds, CPU: {p['cpu']})\n")
    print(f"A round's floor below {near:.0f} ns: its two threads were on neighbouring cores (\"near\"); above, on distant ones (\"far\").\n")
    print("| mechanism | median, all rounds | ÷ floor, all rounds | ÷ floor, near rounds | ÷ floor, far rounds |")
    print("|---|---:|---:|---:|---:|")
    fl = p["floor"]
    print(f"| spin_slot_floor | {cell(fl['all'], 'time')} | 1.00 | {cell(fl['near'], 'time')} (median) | {cell(fl['far'], 'time')} (median) |")
    for row in p["back_to_back"]:
        print(f"| {row['name']} | {cell(row['all'], 'time')} | {cell(row['all'], 'ratio')} | {cell(row['near'], 'ratio')} | {cell(row['far'], 'ratio')} |")
    e = p["eight_over_one"]
    print(f"\n8 callers against 1 caller (time per call ÷ one caller's, same round), calling as often as they can for {p['callers_window_ms']} ms "
          f"(1 caller median {fmt_time(p['one_caller_ns'])}): "
          f"all rounds {cell(e['all'], 'ratio')}; near {cell(e['near'], 'ratio')}; far {cell(e['far'], 'ratio')}\n")
    e = p["eight_over_one_shares"]
    print(f"The same, {p['callers_batch']:,} calls shared out equally, until the last caller is done "
          f"(1 caller median {fmt_time(p['one_caller_shares_ns'])}): "
          f"all rounds {cell(e['all'], 'ratio')}; near {cell(e['near'], 'ratio')}; far {cell(e['far'], 'ratio')}\n")

steady = os.path.join(target, "ns-bench", "steady.json")
if not args.medians and os.path.exists(steady):
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


# The chart: every row's time ÷ the baseline of its group, on a log scale centred
# on 1 (bars to the left are faster than the baseline, to the right slower).
OURS = {"ns_run", "in_netns_fn", "custom_runtime_run", "ns_named_run", "ns_run_warm",
        "ns_run_cold", "ns_run_pool", "run_async", "in_netns_async_fn"}
FLOORS = {"direct_call", "spin_slot_floor", "park_unpark_floor", "direct_await"}
COLORS = {"ours": "#1f6fb5", "peer": "#e08a2c", "floor": "#9a9a9a"}


def role(row):
    name = row.split("/")[0]
    return "ours" if name in OURS else "floor" if name in FLOORS else "peer"


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fmt_ratio(r):
    """Two significant digits below 0.1 (0.12×, 0.000072×), then 1.00× and 18.4×."""
    import math

    if r < 0.1:
        return f"{r:.{1 - math.floor(math.log10(r))}f}×"
    return f"{r:.2f}×" if r < 10 else f"{r:.1f}×"


def fmt_decade(d):
    """An axis label: 0.001× .. 1000×, powers of ten beyond."""
    import math

    exponent = round(math.log10(d))
    if -3 <= exponent <= 3:
        return f"{d:.{max(0, -exponent)}f}×"
    return f"1e{exponent}×"


def svg_chart(title, subtitle):
    import math

    groups = []
    for group, (baseline, rows) in GROUPS.items():
        base = median_ns(group, baseline)
        bars = [(row, median_ns(group, row) / base) for row in rows
                if base and median_ns(group, row) is not None]
        if len(bars) > 1:
            groups.append((group, baseline, bars))
    if not groups:
        return None
    ratios = [r for _, _, bars in groups for _, r in bars]
    lo = 10 ** math.floor(math.log10(min(ratios + [1.0])))
    hi = 10 ** math.ceil(math.log10(max(ratios + [1.0])))
    if lo == hi:
        hi *= 10
    width, label_w, right = 960, 300, 70
    x0, x1 = label_w + 10, width - right

    def x(r):
        return x0 + (math.log10(r) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (x1 - x0)

    row_h, head_h, top = 17, 24, 92
    height = top + sum(head_h + row_h * len(bars) for _, _, bars in groups) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="22" font-size="16" font-weight="bold">{escape(title)}</text>',
           f'<text x="10" y="40" fill="#555">{escape(subtitle)}</text>']
    legend_x = 10
    for key, text in (("ours", "ns-runtime"), ("peer", "other mechanisms"), ("floor", "floors (no namespace work)")):
        out.append(f'<rect x="{legend_x}" y="50" width="12" height="12" fill="{COLORS[key]}"/>')
        out.append(f'<text x="{legend_x + 16}" y="60">{text}</text>')
        legend_x += 30 + 7 * len(text)
    out.append(f'<text x="{x(1)}" y="82" text-anchor="middle" fill="#555">'
               f'← faster than the baseline · log scale · slower →</text>')
    y = top
    grid_top = top
    for group, baseline, bars in groups:
        out.append(f'<text x="10" y="{y + 16}"><tspan font-weight="bold">{escape(group)}</tspan>'
                   f'<tspan fill="#555"> (baseline: {escape(baseline)})</tspan></text>')
        y += head_h
        for row, r in bars:
            left, right_x = sorted((x(1), x(r)))
            color = COLORS[role(row)]
            out.append(f'<text x="{label_w}" y="{y + 12}" text-anchor="end">{escape(row)}</text>')
            out.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{max(right_x - left, 1.5):.1f}" '
                       f'height="{row_h - 5}" fill="{color}"/>')
            anchor, tx = ("end", left - 4) if r < 1 else ("start", right_x + 4)
            out.append(f'<text x="{tx:.1f}" y="{y + 12}" text-anchor="{anchor}" font-size="11">'
                       f'{fmt_ratio(r)}</text>')
            y += row_h
    decade = lo
    while decade <= hi * 1.0001:
        gx = x(decade)
        stroke = "#333" if abs(decade - 1) < 1e-9 else "#ddd"
        out.insert(4, f'<line x1="{gx:.1f}" y1="{grid_top}" x2="{gx:.1f}" y2="{y}" stroke="{stroke}"/>')
        out.append(f'<text x="{gx:.1f}" y="{y + 14}" text-anchor="middle" fill="#555" font-size="11">'
                   f'{fmt_decade(decade)}</text>')
        decade *= 10
    out.append("</svg>")
    return "\n".join(out) + "\n"


if args.svg:
    chart = svg_chart(args.title, f"Medians: {MEDIANS_SOURCE}. Lower is better; 1× is the group's baseline.")
    if chart is None:
        print(f"no group has its baseline and another row: {args.svg} not written", file=sys.stderr)
    else:
        with open(args.svg, "w") as f:
            f.write(chart)
        print(f"wrote {args.svg}", file=sys.stderr)

spawn = os.path.join(target, "ns-bench", "spawn.json")
if os.path.exists(spawn):
    with open(spawn) as f:
        rows = json.load(f)
    print("### starting a process in namespaces (spawn + wait of /bin/true, median)\n")
    print("| mechanism | median | / plain `Command` | / the tool it replaces | ÷ floor (same rounds) |\n|---|---:|---:|---:|---:|")
    for r in rows:
        peer = f"{r['over_peer']:.2f} (`{r['peer']}`)" if "over_peer" in r else ""
        over_floor = f"{r['over_floor']:,.0f}" if r.get("over_floor", 0) >= 10 else f"{r.get('over_floor', float('nan')):.2f}"
        print(f"| {r['mechanism']} | {fmt_time(r['median_ns'])} | {r['over_plain']:.4g} | {peer} | {over_floor} |")
    print()
