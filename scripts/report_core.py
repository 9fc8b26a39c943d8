"""The core section of scripts/report.py: snapshot reads against the
raw-pointer floor, publish, reclaimers and the registry
(results/vitrine_bench_core.json).
"""
from __future__ import annotations

from pathlib import Path

from report_model import (Check, Run, Section, Table, fmt_count, fmt_cv,
                          fmt_ns, fmt_ratio, grouped_bars, read_ns)


OURS = "hybrid_hazard"  # the default reclaimer: what "our read" means
FLOOR = "floor"


ONE_SLOT = "one_slot"  # our read protocol without nesting (a measure)


def nesting_note(run: Run) -> str | None:
    """What letting a thread hold any number of guards costs a read: our
    read against the same protocol with one slot per thread, same run."""
    ours = read_ns(run.find("read", OURS, 1))
    one = read_ns(run.find("read", ONE_SLOT, 1))
    floor = read_ns(run.find("read", FLOOR, 1))
    if ours is None or one is None or floor is None:
        return None
    return (
        f"What nesting costs: `{ONE_SLOT}` is {OURS}'s read protocol with "
        "one slot per thread and no nesting (store the announcement, "
        "compiler-only barrier, re-load the source), over the floor's "
        "ring, which it never reclaims: a measure, not a candidate. With 1 "
        f"reader it reads at {fmt_ns(one)} ns ({fmt_ratio(one, floor)} the "
        f"floor) where {OURS} reads at {fmt_ns(ours)} ns "
        f"({fmt_ratio(ours, floor)}). On an unchanged snapshot the two "
        f"differ only in this: {OURS} loads its own slot to learn whether "
        "a guard of the thread already uses it, stores a busy flag and "
        f"clears it after the read, where {ONE_SLOT} stores and re-loads. "
        f"The difference, {fmt_ns(ours - one)} ns a read, is what lets a "
        "thread hold any number of guards (state views) at once.")


def section_core(run: Run, img_dir: Path, img_rel: str) -> Section:
    s = Section(
        title="Core: snapshot reads, publish, registry "
              f"(`{run.name}`)",
        intro=(
            "A read = get at the current 64-byte state and sum its 8 words, "
            "the same in every variant. `floor` is a bare "
            "`std::atomic<const state*>` acquire load with no reclamation; "
            f"`{OURS}` is `publication_cell<state>` with the default hazard-"
            "pointer reclaimer. ns/read is wall time per read per reader "
            "thread (median of the repetitions); cv is the spread of the "
            "repetitions. Rows marked * run more readers than the machine "
            "has cores (oversubscription)."
            + run.repetition_order_note()))

    scenarios = [
        ("1 reader", "read", 1),
        ("2 readers", "read", 2),
        ("1 reader + writer every 10 us", "read_paced_writer", 1),
        ("4 readers *", "read", 4),
        ("8 readers *", "read", 8),
    ]
    variants = run.variants("read")
    for title, kind, threads in scenarios:
        floor = read_ns(run.find(kind, FLOOR, threads))
        ours = read_ns(run.find(kind, OURS, threads))
        rows = []
        for v in variants:
            b = run.find(kind, v, threads)
            if b is None:
                continue
            ns = read_ns(b)
            rows.append([v, fmt_ns(ns), fmt_cv(b), fmt_ratio(ns, ours),
                         fmt_ratio(ns, floor),
                         fmt_count(b.counters.get("allocs_per_op"))])
        if rows:
            note = ""
            w = run.find(kind, OURS, threads)
            if w and "writer_publishes_per_s" in w.counters:
                note = ("Writer rate achieved (hybrid_hazard run): "
                        f"{w.counters['writer_publishes_per_s']:.0f} "
                        "publishes/s (target 100000).")
                if w.counters["writer_publishes_per_s"] < 90000:
                    note += (" Below target: the writer was descheduled "
                             "(busy or stolen CPU), so this scenario is "
                             "noisy in this run.")
            s.tables.append(Table(
                f"Read, {title}",
                ["variant", "ns/read", "cv", "vs " + OURS, "vs floor",
                 "allocs/read"], rows, note))

    groups = [t for t, _, _ in scenarios]
    series = {v: [read_ns(run.find(k, v, t)) for _, k, t in scenarios]
              for v in variants}
    if grouped_bars(img_dir / "core_read.png",
                    "ns per read (median, log scale; * = oversubscribed)",
                    groups, series, "ns/read per reader"):
        s.images.append(("ns per read by variant and thread count",
                         f"{img_rel}/core_read.png"))

    # Publish.
    rows = []
    pub = {}
    for v in run.variants("publish"):
        b = run.find("publish", v)
        if b is None:
            continue
        pub[v] = b
        rows.append([v, fmt_ns(b.real_ns), fmt_ns(b.cpu_ns), fmt_cv(b),
                     fmt_count(b.counters.get("allocs_per_op")),
                     fmt_count(b.counters.get("bytes_per_op")),
                     fmt_count(b.counters.get("frees_per_op"))])
    if rows:
        s.tables.append(Table(
            "Publish (one writer, back to back, amortized reclamation)",
            ["variant", "wall ns/op", "process CPU ns/op", "cv",
             "allocs/op", "bytes/op", "frees/op (writer thread)"], rows,
            "Process CPU counts every thread: for hybrid_urcu it includes "
            "liburcu's call_rcu thread, which waits for grace periods and "
            "frees the nodes (hence frees/op = 0 on the writer thread). "
            "hybrid_hazard frees on the writer thread, in a scan (one "
            "membarrier) every scan_threshold() publishes. floor/seqlock/"
            "mutex variants overwrite in place and reclaim nothing."))
        if grouped_bars(
                img_dir / "core_publish.png",
                "publish cost (median, log scale)", list(pub),
                {"wall ns/op": [b.real_ns for b in pub.values()],
                 "process CPU ns/op": [b.cpu_ns for b in pub.values()]},
                "ns per publish"):
            s.images.append(("publish cost per variant",
                             f"{img_rel}/core_publish.png"))

    # Registry lookup.
    impls = run.variants("lookup")
    lookup_groups = []
    lookup_series: dict[str, list[float | None]] = {i: [] for i in impls}
    for names in ("10", "1000"):
        for threads in (1, 2):
            base = read_ns(run.find("lookup", "registry", threads,
                                     names=names))
            rows = []
            for impl in impls:
                b = run.find("lookup", impl, threads, names=names)
                ns = read_ns(b)
                lookup_series[impl].append(ns)
                if b is None:
                    continue
                rows.append([impl, fmt_ns(ns), fmt_cv(b),
                             fmt_ratio(ns, base),
                             fmt_count(b.counters.get("allocs_per_op"))])
            lookup_groups.append(f"{names} names\n{threads} thr")
            if rows:
                s.tables.append(Table(
                    f"Registry lookup, {names} names, {threads} "
                    f"thread{'s' if threads > 1 else ''}",
                    ["implementation", "ns/lookup", "cv", "vs registry",
                     "allocs/lookup"], rows))
    if impls and grouped_bars(
            img_dir / "core_registry.png",
            "registry lookup of an existing name (median, log scale)",
            lookup_groups, lookup_series, "ns per lookup per thread"):
        s.images.append(("registry lookup",
                         f"{img_rel}/core_registry.png"))

    rows = []
    for impl in run.variants("iterate"):
        for threads in (1, 2):
            b = run.find("iterate", impl, threads)
            if b is None:
                continue
            rows.append([impl, str(threads), fmt_ns(read_ns(b)), fmt_cv(b),
                         fmt_count(b.counters.get("allocs_per_op"))])
    if rows:
        s.tables.append(Table(
            "Iterate 10 entries (sum each value's id)",
            ["implementation", "threads", "ns/iteration", "cv",
             "allocs/iteration"], rows))

    s.notes.append(
        "Reading these numbers: the floor's read is one pointer load plus "
        "the 8-word sum (~3 cycles), so any per-read protocol shows up as a "
        "large ratio. On an unchanged snapshot hybrid_hazard adds one load "
        "of the reader's own slot (thread-local storage), two plain stores "
        "to it (busy flag on, then off) and a compare: no read-modify-write "
        "and no fence (the loop is listed in docs/design.md section 3; "
        "`objdump -d` of `BM_read<hybrid_variant<hazard_...>>`). "
        f"On {run.machine_cores} cores a 2-thread row shares the cores with "
        "everything else the machine runs; this run's other work is in "
        "the run table above (steal time was not measured).")
    nesting = nesting_note(run)
    if nesting:
        s.notes.append(nesting)

    # Targets.
    for reclaimer in (OURS, "hybrid_urcu"):
        for title, kind, threads, limit in (
                ("1 reader", "read", 1, 1.3),
                ("2 readers", "read", 2, 1.3),
                ("paced writer", "read_paced_writer", 1, 1.5)):
            ours = read_ns(run.find(kind, reclaimer, threads))
            floor = read_ns(run.find(kind, FLOOR, threads))
            ok = None if ours is None or floor is None else \
                ours / floor <= limit
            s.checks.append(Check(
                f"{reclaimer} read vs floor, {title}",
                f"{fmt_ns(ours)} / {fmt_ns(floor)} ns = "
                f"{fmt_ratio(ours, floor)}", f"<= {limit}x", ok))
        b = run.find("read", reclaimer, 1)
        allocs = None if b is None else b.counters.get("allocs_per_op")
        s.checks.append(Check(f"{reclaimer} allocations per read",
                              fmt_count(allocs), "0",
                              None if allocs is None else allocs == 0))
    for names in ("10", "1000"):
        for threads in (1, 2):
            ns = read_ns(run.find("lookup", "registry", threads,
                                   names=names))
            s.checks.append(Check(
                f"registry lookup, {names} names, {threads} thread(s)",
                f"{fmt_ns(ns)} ns", "<= 10 ns",
                None if ns is None else ns <= 10))
    for v in (OURS, "hybrid_urcu"):
        b = pub.get(v)
        cost = None if b is None else max(b.real_ns, b.cpu_ns)
        s.checks.append(Check(
            f"{v} publish, amortized incl. reclamation (max of wall and "
            "process CPU)", f"{fmt_ns(cost)} ns", "<= 100 ns",
            None if cost is None else cost <= 100))
        allocs = None if b is None else b.counters.get("allocs_per_op")
        s.checks.append(Check(f"{v} allocations per publish",
                              fmt_count(allocs), "<= 1",
                              None if allocs is None else allocs <= 1.0001))
    return s
