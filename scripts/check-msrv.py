#!/usr/bin/env python3
"""Checks the declared MSRV against the lock file: every package that a workspace
member needs to build (its normal and build dependencies, with every feature on,
for this host) must declare a `rust-version` no newer than the member's own. For a
member that is not published (the root package of tests and examples), its
dev-dependencies count too.

Without the MSRV toolchain at hand this is what can be checked: together with
clippy's `incompatible_msrv` lint (std items newer than `rust-version`) it covers
what a build with that toolchain would find first. Exits 1, listing every
offender, when a dependency needs a newer Rust; packages that declare no
`rust-version` are listed but do not fail. Usage: python3 scripts/check-msrv.py"""

import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


def show(v):
    return ".".join(str(part) for part in v)


def host():
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("host:"))


meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features",
     "--filter-platform", host()],
    check=True, capture_output=True, text=True).stdout)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

failed = False
for member in meta["workspace_members"]:
    package = packages[member]
    name, declared = package["name"], package.get("rust_version")
    if not declared:
        print(f"{name}: declares no rust-version", file=sys.stderr)
        failed = True
        continue
    with_dev = package.get("publish") == []  # `publish = false`
    seen, stack, too_new, unknown = set(), [(member, True)], [], []
    while stack:
        node, is_member = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds - {"dev"} or (is_member and with_dev):
                stack.append((dep["pkg"], False))
    for node in sorted(seen - {member}, key=lambda n: packages[n]["name"]):
        dep = packages[node]
        needs = dep.get("rust_version")
        label = f"{dep['name']} {dep['version']}"
        if needs is None:
            unknown.append(label)
        elif version(needs) > version(declared):
            too_new.append(f"{label} needs Rust {needs}")
    newest = max((version(packages[n]["rust_version"]) for n in seen - {member}
                  if packages[n].get("rust_version")), default=(0,))
    # For information: what the member's own dev-dependencies need (not checked).
    dev_needs = max((version(packages[d["pkg"]]["rust_version"]) for d in nodes[member]["deps"]
                     if {k["kind"] for k in d["dep_kinds"]} == {"dev"}
                     and packages[d["pkg"]].get("rust_version")), default=None)
    scope = "dependencies and dev-dependencies" if with_dev else "non-dev dependencies"
    print(f"{name}: rust-version {declared}; {len(seen) - 1} locked {scope}, "
          f"the newest needs {show(newest)}")
    if dev_needs and not with_dev:
        print(f"  (its dev-dependencies, not checked, need {show(dev_needs)})")
    if unknown:
        print(f"  declaring no rust-version (not checked): {', '.join(unknown)}")
    for line in too_new:
        print(f"  TOO NEW: {line}", file=sys.stderr)
    failed |= bool(too_new)

if failed:
    print("MSRV check failed: raise rust-version (and say so in CHANGELOG.md) or pin the "
          "dependency to an older version in Cargo.lock", file=sys.stderr)
    sys.exit(1)
