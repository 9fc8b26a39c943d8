#!/usr/bin/python3
"""Render the design study (issue 15) as docs/study.md and docs/img/study_*.png.

    /usr/bin/python3 scripts/report_study.py results/ [--docs docs]

Inputs: results/vitrine_bench_study_{core,push,scale}.json (bench/study_*.cpp,
run by scripts/compare.sh), and for the Go comparison and the reader-scaling
plot results/vitrine_bench_core.json and results/device16/*_16core.json; the
status-table and remote-mirror figures of section 7 come from
results/vitrine_bench_{status_table,remote}.json.
Every figure in the text comes from those files; sentences that explain a
figure without a measurement of the cause in the same run say "hypothesis".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import report_study_plots as plots
import report_study_text as text
from report_provenance import device_staleness
from report_model import fmt_big_ratio, fmt_bytes, fmt_ns
from report_study_text import ns


def load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def rows_of(doc: dict | None) -> dict[str, dict]:
    """Study files: name -> row. Google Benchmark files: run_name -> median."""
    out: dict[str, dict] = {}
    for b in (doc or {}).get("benchmarks", []):
        if b.get("aggregate_name", "median") == "median":
            out[b["run_name"]] = b
    return out


def spread(rows: dict[str, dict], name: str) -> str:
    """Median of a repeated row, with its smallest and largest run."""
    r = rows.get(name)
    if not r:
        return "-"
    if "rep_min" not in r:
        return ns(r["real_time"])
    return (f"{ns(r['real_time'])} ({fmt_ns(r['rep_min'])}-"
            f"{fmt_ns(r['rep_max'])})")


def dist_row(label: str, r: dict | None) -> str:
    if not r:
        return f"| {label} | - | - | - | - | - | - |"
    return (f"| {label} | {int(r['samples']):,} | {ns(r['p50'])} | "
            f"{ns(r['p99'])} | {ns(r['p999'])} | {ns(r['max'])} | "
            f"{ns(r['mean'])} |")


DIST_HEAD = ("| | samples | p50 | p99 | p99.9 | max | mean |\n"
             "|---|---:|---:|---:|---:|---:|---:|")


def section_push(p: dict[str, dict], e2e: dict[str, dict],
                 messaging: dict[str, dict]) -> list[str]:
    main_actor = messaging.get("read/hybrid_from_actor/real_time")
    g = lambda name: p.get(name, {}).get("real_time")  # noqa: E731
    hyb, push_h, req = (g("read/hybrid"), g("read/messaging_push_host"),
                        g("read/messaging_blocking"))
    hyb_a, push_a, req_a = (g("read/hybrid_from_actor"),
                            g("read/messaging_push_actor"),
                            g("read/messaging_from_actor"))
    out = ["## 1. Push: subscribers that keep a copy", "",
           "The same runtime and process actors; readers subscribe "
           "(`process_handle::subscribe`, one `(state_changed_atom, "
           "process_state)` message per transition) and read a copy they "
           "keep. Actor readers keep the copy in their own state; host "
           "threads get it from `baseline::push_mirror`, whose subscriber "
           "actor writes each copy into a per-process seqlock of the "
           "state's scalar fields (the cheapest correct hand-off we found "
           "for a state that is not trivially copyable: strings stay with "
           "the reader, who knows the name it asked for). "
           "`bench/study_push.cpp`, one process (`sleep`), one reader.", "",
           "| reader | hybrid (published snapshot) | push (local copy) | "
           "request per read | push / hybrid | request / push |",
           "|---|---:|---:|---:|---:|---:|",
           f"| host thread | {spread(p, 'read/hybrid')} | "
           f"{spread(p, 'read/messaging_push_host')} | "
           f"{spread(p, 'read/messaging_blocking')} | "
           f"{fmt_big_ratio(push_h, hyb)} | {fmt_big_ratio(req, push_h)} |",
           f"| actor | {spread(p, 'read/hybrid_from_actor')} | "
           f"{spread(p, 'read/messaging_push_actor')} | "
           f"{spread(p, 'read/messaging_from_actor')} | "
           f"{fmt_big_ratio(push_a, hyb_a)} | {fmt_big_ratio(req_a, push_a)} |",
           "", "Each cell: the median of repeated runs (smallest-largest in "
           "parentheses); host rows 5 runs, actor rows one run per batch."
           + (" results.md's actor read of the hybrid (the messaging "
              "binary, another run) measured "
              f"{ns(main_actor['ns_per_read'] * 1e9)}; this study does not "
              "measure why the two runs differ."
              if main_actor and main_actor.get("ns_per_read") else ""),
           "",
           "A push read is a local load too (host thread: "
           f"{fmt_big_ratio(push_h, hyb)} the hybrid's read here; the "
           "seqlock copies the state's scalar fields and checks its counter "
           "twice). What push "
           "pays instead is below: every transition costs the publisher one "
           "message per subscriber, and a subscriber's copy is as old as "
           "the messages queued ahead of the update make it (the staleness "
           "below was measured with otherwise empty mailboxes).", "",
           "**Fan-out and staleness.** A publisher actor doing what "
           "`process_actor::publish` does (publish the snapshot into a cell, "
           "then send the copy to each subscriber), one transition every "
           "200 us so that queues stay empty; the publisher times its own "
           "handler, each subscriber the time from the publish "
           "(`ended_at` carries it) to its seqlock write.", "",
           "| subscribers | publisher time per transition, p50 | p99 | "
           "staleness p50 | staleness p99 |", "|---:|---:|---:|---:|---:|"]
    for k in (0, 1, 4, 16):
        f = p.get(f"fanout/messaging_push/subscribers:{k}", {})
        s = p.get(f"read/messaging_push_staleness/subscribers:{k}") or (
            p.get("read/hybrid_staleness") if k == 0 else None) or {}
        label = f"{k}" + (" (hybrid: a host thread polling the cell)"
                          if k == 0 else "")
        out.append(f"| {label} | {ns(f.get('p50'))} | {ns(f.get('p99'))} | "
                   f"{ns(s.get('p50'))} | {ns(s.get('p99'))} |")
    f0 = p.get("fanout/messaging_push/subscribers:0", {}).get("p50")
    f16 = p.get("fanout/messaging_push/subscribers:16", {}).get("p50")
    if f0 is not None and f16 is not None:
        out += ["", f"Per subscriber, a transition costs the publisher "
                f"({ns(f16)} - {ns(f0)}) / 16 = {ns((f16 - f0) / 16)} "
                "(p50s). The hybrid's staleness row is a host thread "
                "spinning on the cell on this shared machine; "
                "hypothesis, not measured here: its tail is that thread "
                "waiting for a core (a published snapshot is visible to its "
                "next load)."]
    mem = p.get("memory/messaging_push/subscriber", {})
    out += ["", f"**Memory.** {int(mem.get('subscribers', 0)):,} subscriber "
            f"actors on one real process, each holding its copy: "
            f"{fmt_bytes(mem.get('bytes'))} of heap per subscriber (the "
            "actor, its copy and its entry in the owner's subscriber "
            "list). A hybrid reader holds nothing per process: one "
            "hazard-pointer record per thread.", ""]
    rh, rp, lag = (p.get("restart/hybrid", {}), p.get("restart/messaging_push",
                   {}), p.get("restart/messaging_push_lag", {}))
    out += ["**On real transitions.** " + (
            f"{int(rh.get('samples', 0)):,} crashes (SIGKILL) of real "
            f"processes: a new pid running is seen through the cell after "
            f"{ns(rh.get('p50'))} (p50) / {ns(rh.get('p99'))} (p99), through "
            f"a push_mirror after {ns(rp.get('p50'))} / {ns(rp.get('p99'))}; "
            f"once the cell shows it, the mirror lags by {ns(lag.get('p50'))}"
            f" (p50) / {ns(lag.get('p99'))} (p99)."), ""]
    # One fleet size: the largest the hybrid sweep ran at (every row of
    # the table then divides by the N it was measured at).
    sizes = sorted(int(k.rsplit(":", 1)[1]) for k in p
                   if k.startswith("sweep/hybrid/processes:"))
    n = sizes[-1] if sizes else 0
    sw = {m: p[f"sweep/{m}/processes:{n}"]
          for m in ("hybrid", "messaging_push", "messaging_sequential",
                    "messaging_batched") if f"sweep/{m}/processes:{n}" in p}
    if sw:
        out += [f"**Sweeps of {int(n):,} states** (no crashes injected; "
                "medians of the repetitions):", "",
                "| sweep | p50 | p99 | per state |", "|---|---:|---:|---:|"]
        for m, r in sw.items():
            out.append(f"| {m} | {ns(r['p50'])} | {ns(r['p99'])} | "
                       f"{ns(r['p50'] / int(n))} |")
        seq, bat = sw.get("messaging_sequential"), sw.get("messaging_batched")
        if seq and bat:
            out += ["", "Batched = every request sent, then every reply "
                    f"awaited: {fmt_big_ratio(seq['p50'], bat['p50'])} "
                    "faster than one round trip at a time. If a message "
                    "costs the same work in both sweeps (not measured "
                    "separately), at least "
                    f"{(1 - bat['p50'] / seq['p50']) * 100:.0f} % of the "
                    "sequential sweep is waiting between round trips."]
        e2e_seq = e2e.get("e2e/sweep/messaging/real_time")
        if seq and e2e_seq and n == 1000:
            out += ["", "results.md's end-to-end messaging sweep (the same "
                    "blocking reader over 1,000 processes, in another binary "
                    "and run, with one crash in flight at a time, 2 ms apart) "
                    "took "
                    f"{ns(e2e_seq['real_time'] * 1e3)} against "
                    f"{ns(seq['p50'])} here; this study does not measure "
                    "why the two runs differ."]
    return out + [""]


READ_VARIANTS = ("floor", "hybrid_hazard", "hybrid_urcu", "hybrid_ebr",
                 "hybrid_qsbr")


def section_dist(c: dict[str, dict], p: dict[str, dict]) -> list[str]:
    h = c.get("dist/publish/hybrid_hazard", {})
    scan, noscan = (c.get("dist/publish/hybrid_hazard_scan", {}),
                    c.get("dist/publish/hybrid_hazard_no_scan", {}))
    out = ["## 2. Distributions", "",
           "Each operation timed alone with the TSC (`lfence; rdtsc` on both "
           "sides, converted with a steady_clock calibration); the timer's "
           "own cost is the first row and is included in every single-op "
           "row. The batch rows time 64 reads together and divide, which "
           "removes most of the timer. `bench/study_core.cpp`, 64-byte "
           "state, one thread, no other reader or writer.", "",
           "**Reads**", "", DIST_HEAD,
           dist_row("timer alone", c.get("dist/read/timer"))]
    for v in READ_VARIANTS:
        out.append(dist_row(f"read {v}", c.get(f"dist/read/{v}")))
    for v in READ_VARIANTS:
        out.append(dist_row(f"read {v}, per read in batches of 64"
                            + (" (+ one quiescent())" if v == "hybrid_qsbr"
                               else ""), c.get(f"dist/read_batch64/{v}")))
    out += ["", "**Publishes**", "", DIST_HEAD,
            dist_row("hybrid_hazard, all", h),
            dist_row("hybrid_hazard, the publishes that ran a scan", scan),
            dist_row("hybrid_hazard, the others", noscan),
            dist_row("hybrid_urcu (writer thread only)",
                     c.get("dist/publish/hybrid_urcu")),
            dist_row("hybrid_ebr (a collect every 128th)",
                     c.get("dist/publish/hybrid_ebr")),
            dist_row("hybrid_qsbr (a collect every 128th)",
                     c.get("dist/publish/hybrid_qsbr")),
            dist_row(f"malloc + free of {fmt_bytes(h.get('node_bytes'))} "
                     "(alloc+free baseline)", c.get("dist/publish/alloc_free"))]
    if h:
        out += ["", f"The scan spike, measured: {h['scan_share'] * 100:.2f} % "
                f"of publishes ran a scan (one per scan_threshold() = "
                f"{int(h['scan_threshold'])} retirements); those took "
                f"{ns(scan.get('p50'))} (p50) against {ns(noscan.get('p50'))} "
                f"for the others. "
                + ("Fewer than 1 % and more than 0.1 % of the publishes, "
                   "they do not show at the all-publish p99 "
                   f"({ns(h.get('p99'))}) and set its p99.9 "
                   f"({ns(h.get('p999'))}). "
                   if 0.001 < h["scan_share"] < 0.01 else
                   f"All publishes: p99 {ns(h.get('p99'))}, p99.9 "
                   f"{ns(h.get('p999'))}. ")
                + "The malloc+free row is what the heap alone costs for one "
                "node, timer included."]
    e, q = c.get("dist/read/hybrid_ebr"), c.get("dist/read/hybrid_qsbr")
    if e and q:
        out += ["", "Reference reclaimers (`baseline/`, written for this "
                "study, not vitrine's): *hybrid_ebr* is classic epoch-based "
                "reclamation, whose guard stores the epoch and issues a full "
                "fence; *hybrid_qsbr* announces nothing per read (its reader "
                "reports a quiescent state between reads; the batch row "
                "includes one report per 64 reads), the lower bound of read "
                f"cost. Read p50: EBR {ns(e.get('p50'))}, QSBR "
                f"{ns(q.get('p50'))}, against hazard pointers "
                f"{ns(c.get('dist/read/hybrid_hazard', {}).get('p50'))} and "
                f"liburcu {ns(c.get('dist/read/hybrid_urcu', {}).get('p50'))}"
                " (timer included)."]
    rh = p.get("restart/hybrid")
    out += ["", "**Restarts** (real `sleep`, SIGKILL -> new pid running, "
            "seen through `wait_until`; zero backoff)", "", DIST_HEAD,
            dist_row("crash -> restarted", rh), "",
            "![CDFs](img/study_cdf.png)", "",
            "The second panel plots the publishes' tails (the fraction "
            "slower than x, log scale), where the hazard-pointer publishes "
            "that ran a scan"
            + (f" ({h['scan_share'] * 100:.2f} % of them, above)"
               if h.get("scan_share") else "")
            + " show as a step that the CDF beside it cannot show.", ""]
    return out


def sizes_of(rows: dict[str, dict], layer: str) -> list[int]:
    """The N of every scaling/<layer>/.../processes:N row, ascending."""
    return sorted({int(k.rsplit(":", 1)[1]) for k in rows
                   if k.startswith(f"scaling/{layer}/")})


def section_scaling(s: dict[str, dict], context: dict) -> list[str]:
    out = ["## 3. Scaling with the number of processes", "",
           "*cells*: a `core::registry` of N names whose values each hold a "
           "`publication_cell<process_state>` (no CAF, no processes). "
           "*real*: a runtime supervising N real `sleep`s. Lookup = by name "
           "then read; read = a random entry already resolved; sweep = "
           "every entry of one view; publish = a new state into a random "
           "cell. Random entries use one fixed pseudo-random order.", "",
           "| N | lookup | read | sweep (all) | sweep per entry | publish | "
           "memory per entry |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes_of(s, "cells"):
        g = lambda m: s.get(f"scaling/cells/{m}/processes:{n}")  # noqa: E731
        if not g("read"):
            continue
        sw = g("sweep") or {}
        out.append(f"| {n:,} | {ns(g('lookup')['real_time'])} | "
                   f"{ns(g('read')['real_time'])} | {ns(sw.get('p50'))} | "
                   f"{ns(sw.get('per_entry_ns'))} | "
                   f"{ns(g('publish')['real_time'])} | "
                   f"{fmt_bytes(g('memory_per_entry')['bytes'])} |")
    out += ["", "| real processes | start all | heap per process | find + "
            "read | read | sweep | crash -> restarted p50 | shutdown |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes_of(s, "real"):
        g = lambda m: s.get(f"scaling/real/{m}/processes:{n}")  # noqa: E731
        if not g("read"):
            continue
        out.append(f"| {n:,} | {ns(g('start')['real_time'])} | "
                   f"{fmt_bytes(g('heap_per_process')['bytes'])} | "
                   f"{ns(g('lookup')['real_time'])} | "
                   f"{ns(g('read')['real_time'])} | {ns(g('sweep')['p50'])} |"
                   f" {ns(g('restart')['p50'])} | "
                   f"{ns((g('shutdown') or {}).get('real_time'))} |")
    out += ["", "No publish column for real fleets: there the only writer "
            "is each process's actor, which publishes at a transition; a "
            "transition is in the crash -> restarted column, and the cell "
            "operation itself is the cells table's publish column."]
    fds = {int(k.rsplit(":", 1)[1]): r for k, r in s.items()
           if k.startswith("scaling/real/fds_per_process/")}
    fd = fds[max(fds)] if fds else None
    if fd:
        n_max = max(fds)
        asked = int(context.get("max_real_processes", n_max))
        out += ["", f"What the machine allows: a supervised process holds "
                f"{fd['fds']:.2f} file descriptors of the runtime's (at "
                f"{n_max:,} processes): its pidfd, kept by the process "
                "actor, and the duplicate the I/O thread watches "
                "(`io_service::notify_exit`). RLIMIT_NOFILE here is "
                f"{fd['rlimit_nofile']:,.0f}, which allows about "
                f"{fd['max_processes_by_fds']:,.0f} processes; the hard "
                f"limit is {fd.get('rlimit_nofile_hard', 0):,.0f} and this "
                "run " + ("could raise it" if fd.get("cap_sys_resource")
                          else "could not raise it (no CAP_SYS_RESOURCE)")
                + ". Past it a spawn fails with EMFILE and the process ends "
                "`failed` with that spawn errno (what "
                "`bench/study_fleet_probe.cpp` checks; not part of this "
                "run). "
                + (f"The study asked for {asked:,} processes and ran "
                   f"{n_max:,}, the largest multiple of 1,000 this limit "
                   "holds. " if asked > n_max else "")
                + "The duplicate is what halves the bound; watching the "
                "actor's own pidfd instead is not done. The cells go on to "
                "100,000 without processes."]
    return out + ["", "![scaling](img/study_scaling.png)", ""]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", type=Path)
    ap.add_argument("--docs", type=Path, default=Path("docs"))
    a = ap.parse_args()
    docs = {k: load(a.results / f"vitrine_bench_study_{k}.json")
            for k in ("core", "push", "scale")}
    main_core = load(a.results / "vitrine_bench_core.json")
    device = load(a.results / "device16" / "vitrine_bench_core_16core.json")
    status = load(a.results / "vitrine_bench_status_table.json")
    remote = load(a.results / "vitrine_bench_remote.json")
    e2e = load(a.results / "vitrine_bench_e2e.json")
    messaging = load(a.results / "vitrine_bench_messaging.json")
    c, p, s = (rows_of(docs[k]) for k in ("core", "push", "scale"))
    img = a.docs / "img"
    made = [plots.cdfs(docs["core"], docs["push"], img), plots.scaling(s, img),
            plots.stall(docs["core"], img), plots.reader_scaling(device, img)]
    lines = text.header(docs, made)
    lines += (section_push(p, rows_of(e2e), rows_of(messaging))
              + section_dist(c, p))
    lines += section_scaling(s, (docs["scale"] or {}).get("context", {}))
    lines += text.section_stall(c) + text.section_ipi(c)
    device_path = a.results / "device16" / "vitrine_bench_core_16core.json"
    lines += text.section_go(rows_of(main_core), rows_of(device),
                             device_staleness(device_path) if device else "")
    lines += text.section_gives_up(p, rows_of(status), rows_of(remote))
    lines += text.section_claims(c, p, s, rows_of(main_core))
    (a.docs / "study.md").write_text("\n".join(lines).rstrip() + "\n")
    print(f"report_study: wrote {a.docs / 'study.md'}")


if __name__ == "__main__":
    main()
