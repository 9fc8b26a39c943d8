#!/usr/bin/env python3
"""Where each heap byte of a supervised process goes.

Runs bench/heap_driver (a hybrid fleet of N `sleep`s left standing at exit)
under heaptrack, takes every allocation still live at exit with its stack
(heaptrack_print's leaked-cost flame-graph stacks), sums the stacks into
parts by the frames they pass through, and prints a Markdown table of bytes
per process (--json also writes the numbers).

    scripts/heap_breakdown.py [--driver build/rel/bench/vitrine_bench_heap_driver]
                              [--processes 1000] [--json out.json]

The fleet runs with VITRINE_CGROUP=off (no cgroup left behind by a driver
that _exit()s): with cgroups each process also holds its cgroup's path
(~77 bytes).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RUNTIME_WIDE = "runtime-wide (CAF system, threads, libraries; not per process)"

# (part, frames that must all appear in the stack), first match wins.
RULES = [
    # Built once by the runtime's constructor (the fleet's first step).
    (RUNTIME_WIDE, ["vitrine::runtime::runtime("]),
    ("process actor: CAF behavior (its message handlers)",
     ["process_actor::make_behavior"]),
    ("published history snapshot (8 transitions)",
     ["publication_cell<>::emplace<>(vitrine::core::bounded_history"]),
    ("published state snapshot", ["publication_cell<>::emplace<>(vitrine::core::process_state"]),
    ("I/O thread: the exit watch", ["io_service"]),
    ("registry: name table entries", ["registry<>"]),
    ("cgroup path", ["cgroup_tree"]),
    ("launch: owned-child set", ["register_owned_child"]),
    ("process actor: its spec's packed block (argv, options, exit codes)",
     ["packed_spec::packed_spec"]),
    ("process actor object (CAF control block + event_based_actor + our members)",
     ["spawn_process_actor", "LEAF_LARGE"]),
    ("process actor: other allocations made as it is spawned",
     ["spawn_process_actor"]),
    ("process record, name, command port, supervisor's child entry",
     ["supervisor_actor::make_process"]),
    ("process actor: other state", ["process_actor::"]),
    ("supervisor bookkeeping", ["supervisor_actor::"]),
    ("benchmark's handle list", ["fleet::fleet"]),
]


def classify(stack: str, bytes_: int, n: int) -> str:
    frames = stack.split(";")
    for part, needles in RULES:
        ok = True
        for needle in needles:
            if needle == "LEAF_LARGE":
                ok = ok and needle_leaf(frames, "spawn_process_actor") \
                    and bytes_ / n >= 1024
            elif needle not in stack:
                ok = False
        if ok:
            return part
    return RUNTIME_WIDE


def needle_leaf(frames: list[str], name: str) -> bool:
    leaf = [f for f in frames if f.strip()]
    return bool(leaf) and name in leaf[-1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver",
                    default="build/rel/bench/vitrine_bench_heap_driver")
    ap.add_argument("--processes", type=int, default=1000)
    ap.add_argument("--reads", choices=["hybrid", "messaging"],
                    default="hybrid")
    ap.add_argument("--json")
    opts = ap.parse_args()
    n = opts.processes
    with tempfile.TemporaryDirectory(prefix="vitrine-heap-") as tmp:
        env = dict(os.environ, VITRINE_E2E_PROCESSES=str(n),
                   VITRINE_E2E_READS=opts.reads, VITRINE_CGROUP="off")
        subprocess.run(["heaptrack", "-o", f"{tmp}/ht", opts.driver],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        data = next(Path(tmp).glob("ht*"))
        stacks = Path(tmp) / "stacks.txt"
        subprocess.run(["heaptrack_print", "-f", str(data), "--print-peaks",
                        "0", "--print-allocators", "0", "--print-temporary",
                        "0", "-F", str(stacks),
                        "--flamegraph-cost-type", "leaked"],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        parts: dict[str, int] = {}
        for line in stacks.read_text().splitlines():
            stack, _, cost = line.rpartition(" ")
            part = classify(stack, int(cost), n)
            parts[part] = parts.get(part, 0) + int(cost)
    per = {k: v / n for k, v in parts.items()}
    total = sum(v for k, v in per.items() if k != RUNTIME_WIDE)
    print(f"Live heap per process, {n} supervised `sleep`s ({opts.reads}), "
          "heaptrack at exit:\n")
    print("| part | bytes per process |")
    print("|---|---:|")
    for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
        if k != RUNTIME_WIDE:
            print(f"| {k} | {v:,.0f} |")
    print(f"| **total per process** | **{total:,.0f}** |")
    print(f"| {RUNTIME_WIDE} | {parts.get(RUNTIME_WIDE, 0):,} in all |")
    if opts.json:
        Path(opts.json).write_text(json.dumps(
            {"processes": n, "bytes_per_process": per,
             "total_per_process": total}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
