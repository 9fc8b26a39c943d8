"""The messaging section of scripts/report.py: the hybrid handle read
against the outside reader's request to the actor, side by side
(results/vitrine_bench_messaging.json).
"""
from __future__ import annotations

from pathlib import Path

from report_model import (Bench, Check, Run, Section, Table, fmt_big_ratio,
                          fmt_cv, fmt_ns, fmt_ratio, labelled_hbars, read_ns)


MODE_COLORS = {"hybrid": "tab:blue", "messaging": "tab:orange"}


def _per_read_ns(b: Bench | None) -> float | None:
    """Host-thread benchmarks: wall time per read per reader thread. Actor
    benchmarks: the ns_per_read counter (seconds per read, from real
    time)."""
    if b is None:
        return None
    if "ns_per_read" in b.counters:
        return b.counters["ns_per_read"] * 1e9
    return read_ns(b)


def _handle_gap_why(ours: float | None, floor: float | None,
                    traffic: float | None) -> str:
    """Where the handle read's time over the floor goes, from this run's
    `read/floor_slot_traffic` when it has one."""
    what = (
        "`read/floor` is an acquire load of a plain atomic pointer to a "
        "process_state and the same field reads as `read/hybrid` "
        "(`process_handle::read()`: one pointer test, then the hazard "
        "guard, see design.md section 3), which also loads the thread's "
        "own hazard slot and stores it twice (busy flag on, then off: what "
        "lets a thread hold several views at once; the `one_slot` row of "
        "vitrine_bench_core is the protocol without it). ")
    if traffic is None or ours is None or floor is None:
        return what + ("This run has no `read/floor_slot_traffic` row, so "
                       "how much of the gap those three accesses cost was "
                       "not measured (hypothesis: most of it).")
    measured = (
        f"`read/floor_slot_traffic`, the floor plus those three accesses "
        f"to a thread-local word and nothing else, read at "
        f"{fmt_ns(traffic)} ns ({fmt_ratio(traffic, floor)} the floor)")
    if traffic >= ours:
        # The accesses alone took as long as the whole handle read: the
        # gap cannot be split into their cost and the rest.
        return what + (
            f"{measured}, no faster than `read/hybrid` itself "
            f"({fmt_ns(ours)} ns), so this run does not split the gap into "
            f"the accesses and the guard's tests (hypothesis: the two loops "
            f"overlap the same accesses differently).")
    return what + (
        f"{measured}: "
        f"the accesses alone cost {fmt_ns(traffic - floor)} ns of the "
        f"{fmt_ns(ours - floor)} ns gap, the guard's tests and branches "
        f"the other {fmt_ns(ours - traffic)} ns. A guard that lets views "
        f"nest pays at least those accesses, so this target is out of its "
        f"reach whenever the traffic row is over 1.3x.")


def section_vitrine_bench_messaging(run: Run, img_dir: Path, img_rel: str) -> Section:
    s = Section(
        title="Hybrid vs messaging: reading one process's state "
              f"(`{run.name}`)",
        intro=(
            "One real supervised process (`sleep`), read over and over. "
            "*hybrid*: `process_handle::read()`, a guarded load of the "
            "published snapshot. *messaging*: ask the process actor for its "
            "state by request/response: from a host thread with "
            "`blocking_reader` (a `scoped_actor` request and a blocking "
            "receive), either on the runtime's latency-tuned CAF scheduler "
            "or on CAF's default one; from an actor with a "
            "`request().then` chain (one actor-to-actor round trip per "
            "read). The actor rows run batches of reads inside one actor "
            "and divide (`ns_per_read`). Times are wall time per read per "
            "reader thread, medians of the repetitions; cv is their "
            "spread."
            + run.repetition_order_note()))

    def rb(variant: str, threads: int = 1) -> Bench | None:
        return run.find("read", variant, threads)

    hy1, hy2 = rb("hybrid"), rb("hybrid", 2)
    mt1, mt2 = rb("messaging_blocking"), rb("messaging_blocking", 2)
    mdef = rb("messaging_blocking_default")
    hya, msa = rb("hybrid_from_actor"), rb("messaging_from_actor")
    lh1, lh2 = run.find("lookup", "hybrid"), run.find("lookup", "hybrid", 2)
    lm = run.find("lookup", "messaging")
    ns = _per_read_ns

    rows_spec = [
        ("host thread, 1 reader", hy1, mt1,
         "blocking request, tuned scheduler"),
        ("host thread, 2 readers", hy2, mt2,
         "blocking request, tuned scheduler"),
        ("host thread, 1 reader, CAF default scheduler", hy1, mdef,
         "blocking request, default scheduler (hybrid: same row as above)"),
        ("actor reader", hya, msa, "request().then per read"),
        ("lookup by name, 1 thread", lh1, lm,
         "registry vs directory actor (blocking); both return a handle "
         "holding one reference count on the record"),
        ("lookup by name, 2 threads", lh2, None, "messaging: not measured"),
    ]
    rows = []
    for what, h, m, how in rows_spec:
        rows.append([what, fmt_ns(ns(h)), fmt_cv(h), fmt_ns(ns(m)),
                     fmt_cv(m), fmt_big_ratio(ns(m), ns(h)), how])
    s.tables.append(Table(
        "Reading one process's state (ns per read, per reader thread)",
        ["reader", "hybrid", "cv", "messaging", "cv",
         "messaging / hybrid", "messaging path"], rows,
        "Ratios > 100 are rounded to whole numbers. The 2-reader rows share "
        f"the machine's {run.machine_cores} cores with CAF's worker threads "
        "(messaging) or with nothing else of the benchmark (hybrid)."))

    rows = []
    for b in run.benches:
        per = ns(b)
        rows.append([b.run_name, fmt_ns(per), fmt_cv(b),
                     # Google Benchmark's cpu_time of a threaded run is
                     # all threads' CPU over all their iterations: already
                     # per op of one thread.
                     fmt_ns(b.cpu_ns)
                     if "ns_per_read" not in b.counters else "-"])
    s.tables.append(Table(
        "Every benchmark in this binary",
        ["benchmark", "ns/op per thread (wall)", "cv",
         "CPU ns/op of the reading thread"], rows,
        "CPU time is the benchmark thread's own: a blocking messaging read "
        "spends most of its wall time asleep waiting for CAF's threads, so "
        "its CPU time is well below its wall time. Actor rows: `-` (the "
        "work runs on CAF's threads)."))

    plot_rows = [
        ("hybrid: host thread, 1 reader", ns(hy1), "hybrid"),
        ("hybrid: host thread, 2 readers", ns(hy2), "hybrid"),
        ("hybrid: actor reader", ns(hya), "hybrid"),
        ("hybrid: lookup by name", ns(lh1), "hybrid"),
        ("messaging: actor-to-actor request", ns(msa), "messaging"),
        ("messaging: blocking, tuned, 1 reader", ns(mt1), "messaging"),
        ("messaging: blocking, tuned, 2 readers", ns(mt2), "messaging"),
        ("messaging: blocking, default scheduler", ns(mdef), "messaging"),
        ("messaging: lookup by name (directory)", ns(lm), "messaging"),
    ]
    if labelled_hbars(img_dir / "messaging_read.png",
                      "Reading one process's state: ns per read "
                      "(median, log scale)", plot_rows,
                      "ns per read per reader thread", MODE_COLORS):
        s.images.append(("ns per read, hybrid vs messaging variants",
                         f"{img_rel}/messaging_read.png"))

    # Targets.
    # CPU time of the reading threads (Google Benchmark's cpu_time is per
    # read per thread): both rows are ~1 ns, so wall time on this shared
    # 2-core VM mostly measures who else ran; the CPU time is the read's.
    for title, threads in (("1 reader", 1), ("2 readers", 2)):
        h, f = rb("hybrid", threads), rb("floor", threads)
        t = rb("floor_slot_traffic", threads)
        ours = None if h is None else h.cpu_ns
        floor = None if f is None else f.cpu_ns
        traffic = None if t is None else t.cpu_ns
        ok = None if ours is None or floor is None else ours / floor <= 1.3
        s.checks.append(Check(
            f"hybrid handle read vs raw-pointer floor (same binary, CPU "
            f"time per read), {title}",
            f"{fmt_ns(ours)} / {fmt_ns(floor)} ns = {fmt_ratio(ours, floor)}",
            "<= 1.3x", ok,
            value=None if ok is None else ours / floor, limit=1.3,
            why=_handle_gap_why(ours, floor, traffic)))
    rtt = ns(mt1)
    s.checks.append(Check(
        "messaging: tuned CAF round trip from a non-actor thread "
        "(blocking_reader, 1 reader)", f"{fmt_ns(rtt)}", "<= 30 us",
        None if rtt is None else rtt <= 30e3, value=rtt, limit=30e3,
        why=(
            "The blocking round trip is a `scoped_actor` request: enqueue "
            "to the process actor's mailbox, wake a CAF worker (futex), "
            "run the handler, enqueue the response, wake the blocked host "
            "thread (futex). Each wake-up is a scheduler hand-off, so on "
            f"{run.machine_cores} cores the round trip is set by how soon the "
            "kernel runs the woken thread (hypothesis: not traced in this "
            "run). "
            "The CPU time of the reading "
            "thread (table below) is a fraction of the wall time: the rest "
            "is waiting.")))
    a2a = ns(msa)
    s.checks.append(Check(
        "messaging: actor-to-actor request round trip (ns_per_read)",
        f"{fmt_ns(a2a)}", "<= 1.5 us",
        None if a2a is None else a2a <= 1.5e3, value=a2a, limit=1.5e3,
        why=(
            "Actor-to-actor round trips stay on CAF's worker threads (no "
            "futex wake-up of a host thread), but each `request().then` "
            "still allocates a mailbox element and a response handler, and "
            "two actors on 2 workers hand messages across cores; "
            "competing load on the cores would go straight into it "
            "(hypothesis).")))
    ratio = None if rtt is None or ns(hy1) is None else rtt / ns(hy1)
    s.checks.append(Check(
        "hybrid host read vs tuned messaging round trip (1 reader)",
        f"{fmt_ns(ns(hy1))} vs {fmt_ns(rtt)} = "
        f"{fmt_big_ratio(rtt, ns(hy1))} faster", ">= 10,000x",
        None if ratio is None else ratio >= 1e4, value=ratio, limit=1e4,
        at_least=True,
        why=(
            "The hybrid read is a few ns (a guarded pointer load); the "
            "ratio falls short only because the messaging round trip is "
            "faster than the ~30 us it was sized against, or the hybrid "
            "read was slowed by load on the cores.")))
    if ratio is not None and rtt > 30e3:
        s.notes.append(
            f"The {fmt_big_ratio(rtt, ns(hy1))} speed-up of the hybrid host "
            "read is measured against a round trip that is itself over its "
            f"30 us target ({fmt_ns(rtt)} in this run); against a 30 us "
            f"round trip it would be {fmt_big_ratio(30e3, ns(hy1))}.")
    if hy2 is not None and mt2 is not None:
        s.checks.append(Check(
            "hybrid host read vs tuned messaging round trip (2 readers)",
            f"{fmt_ns(ns(hy2))} vs {fmt_ns(ns(mt2))} = "
            f"{fmt_big_ratio(ns(mt2), ns(hy2))} faster", "(~10^4x)", None,
            info=True))
    s.checks.append(Check(
        "actor readers: hybrid read vs actor-to-actor request",
        f"{fmt_ns(ns(hya))} vs {fmt_ns(a2a)} = "
        f"{fmt_big_ratio(a2a, ns(hya))} faster", "(~10^3x expected)", None,
        info=True))
    s.checks.append(Check(
        "hybrid host read vs messaging round trip on CAF's default "
        "scheduler", f"{fmt_ns(ns(hy1))} vs {fmt_ns(ns(mdef))} = "
        f"{fmt_big_ratio(ns(mdef), ns(hy1))} faster",
        "(untuned baseline)", None, info=True))
    s.checks.append(Check(
        "lookup by name: registry vs directory actor",
        f"{fmt_ns(ns(lh1))} vs {fmt_ns(ns(lm))} = "
        f"{fmt_big_ratio(ns(lm), ns(lh1))} faster", "", None, info=True))

    if mdef is not None and mt1 is not None:
        s.notes.append(
            "CAF's default scheduler: a blocking messaging read costs "
            f"{fmt_ns(ns(mdef))} there against {fmt_ns(ns(mt1))} on the "
            f"runtime's tuned one ({fmt_big_ratio(ns(mdef), ns(mt1))}), so "
            "against an untuned CAF the hybrid read is "
            f"{fmt_big_ratio(ns(mdef), ns(hy1))} faster. The tuned figure "
            "is the fair baseline (the best messaging can do here), which "
            "is what the target uses; the default-scheduler figure is what "
            "an out-of-the-box CAF program would see. The tuning differs "
            "only in how idle workers poll (runtime_options::"
            "tune_scheduler_for_latency); that the default's sleeping "
            "workers are what the request waits for is a hypothesis, not "
            "measured here.")
    return s
