"""The "Reader scaling on a lent N-core machine" section of
docs/results.md: results/device16/ (written by hand from runs on a lent
16-core machine; compare.sh does not rerun them).

Imported by scripts/report.py, which places the section."""

from __future__ import annotations

from pathlib import Path

from report_model import Section, Table, fmt_ns, load_run, read_ns
from report_provenance import device_staleness

DEVICE_DIR = "device16"


def section_device(results: Path) -> Section | None:
    """Reader scaling measured once on a lent 16-core machine (results/
    device16/, written by hand from its runs; not rerun by compare.sh)."""
    folder = results / DEVICE_DIR
    core_path = folder / "vitrine_bench_core_16core.json"
    if not core_path.exists():
        return None
    core = load_run(core_path)
    threads = sorted({b.threads for b in core.benches if b.kind == "read"})
    variants = []
    for b in core.benches:
        if b.kind == "read" and b.variant not in variants:
            variants.append(b.variant)
    by = {(b.variant, b.threads): b for b in core.benches if b.kind == "read"}
    rows = []
    for v in variants:
        row = [v]
        for t in threads:
            row.append(fmt_ns(read_ns(by.get((v, t)))))
        rows.append(row)
    floor16 = read_ns(by.get(("floor", threads[-1])))
    ours16 = read_ns(by.get(("hybrid_hazard", threads[-1])))
    sec = Section(
        f"Reader scaling on a lent {threads[-1]}-core machine",
        intro=(f"Measured once on a {core.context.get('num_cpus', '?')}-core "
               "x86-64 machine lent for this purpose, on "
               f"{str(core.context.get('date', '?'))[:10]} ("
               f"`{core.context.get('vitrine_command', '?')}`); not rerun "
               "by compare.sh. " + device_staleness(core_path) +
               " ns per read per reader thread, the same 64-byte state as "
               "above: a flat row means reads scale linearly with threads."))
    sec.tables.append(Table("ns per read per reader thread",
                            ["variant"] + [f"{t} thr" for t in threads], rows))
    if floor16 and ours16:
        sec.notes.append(
            f"At {threads[-1]} readers our read costs {ours16:.2f} ns per "
            f"thread against the floor's {floor16:.2f} ns "
            f"({ours16 / floor16:.2f}x).")
    msg_path = folder / "vitrine_bench_messaging_16core.json"
    if msg_path.exists():
        msg = load_run(msg_path)
        mby = {(b.variant, b.threads): b for b in msg.benches
               if b.kind == "read"}
        mthreads = sorted({t for (_, t) in mby})
        rows = []
        for v in ("hybrid", "messaging_blocking"):
            rows.append([v] + [fmt_ns(read_ns(mby.get((v, t))))
                               for t in mthreads])
        sec.tables.append(Table(
            "one real process's state: ns per read per host thread",
            ["reader"] + [f"{t} thr" for t in mthreads], rows))
    e2e_path = folder / "vitrine_bench_e2e_16core.json"
    if e2e_path.exists():
        e2e = load_run(e2e_path)
        rows = []
        for b in e2e.benches:
            name = b.run_name.split("/iterations")[0].split("/real_time")[0]
            if name.startswith("e2e/start_all"):
                rows.append([name, f"{b.real_ns / 1e6:.0f} ms",
                             f"{b.counters.get('heap_bytes_per_process', 0):.0f} B heap/process"])
            elif name.startswith("e2e/sweep"):
                rows.append([name, f"{b.real_ns / 1e3:.1f} us per sweep", ""])
            elif name.startswith("e2e/restart_latency"):
                rows.append([name,
                             f"p50 {b.counters.get('p50_us', 0):.0f} us",
                             f"p99 {b.counters.get('p99_us', 0):.0f} us"])
        sec.tables.append(Table("end to end, 1,000 processes",
                                ["benchmark", "median", ""], rows))
    return sec
