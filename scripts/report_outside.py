"""Sections of docs/results.md for reading and commanding a run from another
process (issue 12): the shared-memory status table read by a separate
process (bench/status_table_bench.cpp) and whole `vitrine status` /
`vitrine ctl` commands against a live `vitrine run` (bench/cli_bench.cpp).

Imported by scripts/report.py, which registers both sections."""

from __future__ import annotations

from pathlib import Path

from report_model import Check, Run, Section, Table, fmt_ns


def _t(ns: float | None) -> str:
    """fmt_ns with the unit spelled out below a microsecond too."""
    text = fmt_ns(ns)
    return text + " ns" if ns is not None and ns < 1e3 else text


def _ns(run: Run, name: str) -> float | None:
    b = run.named(name)
    return None if b is None else b.real_ns


def section_status_table(run: Run, img_dir: Path, img_rel: str) -> Section:
    s = Section(
        "Status table read from another process",
        intro=("A forked owner publishes 1,000 process slots in the shared "
               "mapping (the layout `vitrine run` writes) and stays idle; "
               "the benchmark process maps it read-only with "
               "`vitrine::status_reader`, as `vitrine status` or a monitoring "
               "agent does. A read is a seqlock copy of one slot's 248-byte "
               "payload (31 word loads, checksummed on the way); no system call, no "
               "message to the owner. Wall-clock medians."))
    rows = [
        ("one slot, by index", "BM_status_read_one"),
        ("one slot, by name (cached index)", "BM_status_find_one"),
        ("all 1,000 slots", "BM_status_read_all"),
        ("owner liveness check (/proc + heartbeat)", "BM_status_owner_check"),
    ]
    s.tables.append(Table(
        "Reading the status table from another process",
        ["read", "time"],
        [[label, _t(_ns(run, name))] for label, name in rows]))
    one = _ns(run, "BM_status_read_one")
    all_slots = _ns(run, "BM_status_read_all")
    s.checks.append(Check("one status read, once mapped", _t(one),
                          "<= 100 ns", None if one is None else one <= 100,
                          value=one, limit=100))
    s.checks.append(Check(
        "all 1,000 status slots", _t(all_slots), "<= 20 us",
        None if all_slots is None else all_slots <= 20_000,
        value=all_slots, limit=20_000,
        why=("Each slot is 31 word loads, each copied and multiplied into "
             "the checksum (the code, not a measurement of where the time "
             "goes); the figure is wall time, so any preemption by other "
             "work on the machine is in it.")))
    return s


def section_cli(run: Run, img_dir: Path, img_rel: str) -> Section:
    s = Section(
        "Commanding a run from another process",
        intro=("Whole commands as an operator types them, each spawned "
               "(posix_spawn) and reaped by the benchmark, against one "
               "`vitrine run` supervising 1,000 programs. `/bin/true` is the "
               "floor any command pays to be spawned, loaded and reaped. "
               "`vitrine status` reads the shared-memory table (it never "
               "messages the run); `vitrine ctl` sends one request over the "
               "control socket and returns when the run answers that the "
               "effect is done. Wall-clock medians."))
    rows = [
        ("`/bin/true` (spawn + exit floor)", "cli/exec_floor"),
        ("`vitrine status` (1,000 rows)", "cli/status_all"),
        ("`vitrine status p500`", "cli/status_one"),
        ("`vitrine ctl signal CONT p500`", "cli/ctl_round_trip"),
    ]
    floor = _ns(run, "cli/exec_floor")
    table_rows = []
    for label, name in rows:
        ns = _ns(run, name)
        over = ("" if ns is None or floor is None or name == "cli/exec_floor"
                else _t(ns - floor))
        table_rows.append([label, _t(ns), over])
    s.tables.append(Table("Whole commands", ["command", "time",
                                             "above the floor"], table_rows))
    status = _ns(run, "cli/status_all")
    one = _ns(run, "cli/status_one")
    why = ""
    if None not in (status, one, floor):
        why = (f"In this run `/bin/true` alone took {_t(floor)} to be "
               f"spawned, loaded and reaped; `vitrine status` took "
               f"{_t(status - floor)} more, of which `vitrine status p500` "
               f"(one row, the same table read) took {_t(one - floor)}: the "
               f"other {_t(status - one)} went to making, ordering and "
               f"writing the other 999 rows.")
    s.checks.append(Check("`vitrine status` as a whole command (1,000)",
                          _t(status), "<= 2 ms",
                          None if status is None else status <= 2e6,
                          value=status, limit=2e6, why=why))
    return s
