#!/usr/bin/python3
"""Render benchmark results (Google Benchmark JSON) as terminal tables,
docs/results.md and PNG plots in docs/img/.

    /usr/bin/python3 scripts/report.py results/ [--mode quick|full]
        [--docs docs]

Input: results/<binary>.json, written by scripts/compare.sh with
--benchmark_report_aggregates_only, so each benchmark has mean / median /
stddev / cv aggregates; every figure here is a median.

The sections live in their own modules (report_core, report_messaging,
report_e2e, report_outside, report_remote, report_peers), built from the
blocks in report_model. Adding a benchmark binary: write a function
`section_<something>(run, img_dir, img_rel) -> Section` and register it in
SECTIONS under the binary's name. A results file without a registered
section is listed in the report as skipped.

Uses only the standard library and matplotlib (Debian's python3-matplotlib,
hence /usr/bin/python3). Without matplotlib the plots are skipped with a
note.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import report_peers
from report_core import section_core
from report_e2e import section_vitrine_bench_e2e
from report_messaging import section_vitrine_bench_messaging
from report_device import section_device
from report_model import Check, Run, Section, Table, load_run, plt
from report_outside import section_cli, section_status_table
from report_remote import section_remote


# Results file stem -> section renderer. Add later binaries here.
SECTIONS = {
    "vitrine_bench_core": section_core,
    "vitrine_bench_messaging": section_vitrine_bench_messaging,
    "vitrine_bench_e2e": section_vitrine_bench_e2e,
    "vitrine_bench_status_table": section_status_table,
    "vitrine_bench_cli": section_cli,
    "vitrine_bench_remote": section_remote,
}



def section_peers(path: Path, img_dir: Path, img_rel: str) -> Section:
    """results/peers.json (not Google Benchmark's format): see
    scripts/report_peers.py."""
    r = report_peers.render(path, img_dir, img_rel)
    return Section(r["title"], r["intro"],
                   [Table(**t) for t in r["tables"]],
                   [Check(**c) for c in r["checks"]], r["images"],
                   r["notes"])


# Results files in their own format: stem -> renderer(path, img_dir, img_rel).
RAW_SECTIONS = {report_peers.STEM: section_peers}


# -- the report ---------------------------------------------------------------


@dataclass
class RunInfo:
    """results/compare_run.tsv, written by compare.sh: how the run went."""

    values: dict[str, str] = field(default_factory=dict)
    # binary -> (exit status, seconds, load before, load after, command)
    binaries: dict[str, tuple[int, int, float, float, str]] = field(
        default_factory=dict)

    @property
    def load_max(self) -> float | None:
        try:
            return float(self.values["load_max"])
        except (KeyError, ValueError):
            return None

    @property
    def load_at_start(self) -> float | None:
        """The load before the first benchmark: foreign work. (The
        benchmarks themselves run up to 8 reader threads and 1,000
        processes, so the maximum during the run is mostly their own.)"""
        if not self.binaries:
            return None
        return next(iter(self.binaries.values()))[2]

    @property
    def foreign_cpu_pct(self) -> float | None:
        """CPU used by other work while the benchmarks ran, in % of one
        core (compare.sh: the machine's busy time minus the benchmarks')."""
        try:
            return float(self.values["foreign_cpu_pct"])
        except (KeyError, ValueError):
            return None

    @property
    def busy(self) -> bool:
        foreign = self.foreign_cpu_pct
        if foreign is not None:
            return foreign > BUSY_FOREIGN_PCT
        # Older runs: the load average before the first benchmark, which
        # also counts compare.sh's own build just before it.
        start = self.load_at_start
        return start is not None and start > BUSY_LOAD

    def busy_text(self) -> str:
        foreign = self.foreign_cpu_pct
        if foreign is not None:
            return (f"other work used {foreign:.1f}% of one core on average "
                    "while the benchmarks ran (measured: the machine's busy "
                    "time minus the benchmarks' own)")
        return (f"the 1-minute load average was {self.load_at_start:.2f} "
                "before the benchmarks started")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


BUSY_LOAD = 1.5  # 1-minute load average above which the run was "busy"
BUSY_FOREIGN_PCT = 20.0  # other work, % of one core, above which it was


def machine_cores(files: list[Path]) -> str:
    for f in files:
        try:
            n = json.loads(f.read_text()).get("context", {}).get("num_cpus")
        except (OSError, ValueError):
            continue
        if n:
            return str(n)
    return "?"


def load_run_info(results: Path) -> RunInfo | None:
    path = results / "compare_run.tsv"
    if not path.exists():
        return None
    info = RunInfo()
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if parts[0] == "binary" and len(parts) >= 7:
            info.binaries[parts[1]] = (int(parts[2]), int(parts[3]),
                                       float(parts[4]), float(parts[5]),
                                       parts[6])
        elif len(parts) == 2:
            info.values[parts[0]] = parts[1]
    return info



# -- optional: a lent many-core machine ----------------------------------------

def machine_info(runs: list[Run],
                 run_info: RunInfo | None) -> list[tuple[str, str]]:
    if not runs:
        return []
    c = dict(runs[0].context)
    for r in runs:  # the core benchmark adds these; the others do not
        for k, v in r.context.items():
            if k.startswith("vitrine_") and k not in c:
                c[k] = v
    caches = ", ".join(
        f"L{x.get('level')} {x.get('type', '')} {x.get('size', 0) // 1024} KiB"
        f" (shared by {x.get('num_sharing', '?')})"
        for x in c.get("caches", []))
    load = c.get("load_avg")
    info = [
        ("CPU", c.get("vitrine_cpu_model", "?")),
        ("cores (benchmark's count)", str(c.get("num_cpus", "?"))),
        ("MHz (as reported)", str(c.get("mhz_per_cpu", "?"))),
        ("caches", caches or "?"),
        ("host", c.get("host_name", "?")),
        ("date", c.get("date", "?")),
        ("load average at start",
         ", ".join(f"{x:.2f}" for x in load) if load else "?"),
        ("compiler", c.get("vitrine_compiler", "?")),
        ("Google Benchmark library build",
         c.get("library_build_type", "?")),
    ]
    if run_info is not None:
        info.append((
            "load average (1 min)",
            f"{run_info.load_at_start} before the first benchmark, highest "
            f"{run_info.values.get('load_max', '?')} during the run (the "
            f"benchmarks' own threads and processes included) on "
            f"{c.get('num_cpus', '?')} cores"))
        if run_info.foreign_cpu_pct is not None:
            info.append((
                "other work during the benchmarks",
                f"{run_info.foreign_cpu_pct:.1f}% of one core (the machine's "
                "busy time minus the benchmarks' own CPU time; kernel "
                "threads working for the benchmarks count as other work)"
                + (" (**busy machine**)" if run_info.busy else "")))
        elif run_info.busy:
            info[-1] = (info[-1][0], info[-1][1] + " (possibly busy: other "
                        "work not measured)")
        info.append(("benchmark wall time (all binaries)",
                     f"{run_info.values.get('bench_seconds', '?')} s"))
    for r in runs:
        cmd = r.context.get("vitrine_command",
                            r.context.get("executable", "?"))
        extra = ""
        if run_info is not None and r.name in run_info.binaries:
            rc, secs, before, after, cmd = run_info.binaries[r.name]
            extra = (f" ({secs} s, load {before:.2f} before, {after:.2f} "
                     f"after" + (f", **exit status {rc}**" if rc else "")
                     + ")")
        info.append((f"command ({r.name})", f"`{cmd}`{extra}"))
    if run_info is not None and "revision" in run_info.values:
        info.append(("git revision of the benchmarks' build",
                     run_info.values["revision"]))
        return info
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent).stdout
        info.append(("git revision (HEAD when rendered)", rev.strip()))
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def render(results: Path, docs: Path, mode: str, notes: list[str]) -> int:
    img_dir = docs / "img"
    img_rel = os.path.relpath(img_dir, docs)
    order = list(SECTIONS) + list(RAW_SECTIONS)
    files = sorted(results.glob("*.json"),
                   key=lambda f: (order.index(f.stem) if f.stem in order
                                  else len(order), f.name))
    run_info = load_run_info(results)
    cores = machine_cores(files)
    if not files:
        print(f"report.py: no results/*.json under {results}", file=sys.stderr)
        return 1
    runs, sections, skipped = [], [], []
    problems: list[str] = []
    if run_info is not None:
        for name, (rc, secs, *_rest) in run_info.binaries.items():
            if rc:
                problems.append(
                    f"`{name}` exited with status {rc} after {secs} s"
                    + ("" if (results / f"{name}.json").exists() else
                       "; it wrote no results, so its section is missing")
                    + ".")
    for f in files:
        if f.stem.startswith("vitrine_bench_study_"):
            continue  # docs/study.md, by scripts/report_study.py
        if f.stem in RAW_SECTIONS:
            try:
                sections.append(RAW_SECTIONS[f.stem](f, img_dir, img_rel))
            except (ValueError, KeyError) as e:
                problems.append(f"`{f}` could not be read ({e}); skipped.")
            continue
        renderer = SECTIONS.get(f.stem)
        if renderer is None:
            skipped.append(f"{f}: no section for `{f.stem}` in "
                           "scripts/report.py; skipped")
            continue
        try:
            run = load_run(f)
        except (ValueError, KeyError) as e:
            problems.append(f"`{f}` could not be read ({e}); skipped.")
            continue
        if not run.benches:
            problems.append(f"`{f}` has no successful benchmarks; skipped.")
            continue
        run.machine_cores = cores
        runs.append(run)
        sections.append(renderer(run, img_dir, img_rel))
    device = section_device(results)
    if device is not None:
        sections.append(device)
    if run_info is not None and run_info.busy:
        notes = [
            (f"**Busy machine.** {_sentence(run_info.busy_text())}, on "
             f"{runs[0].context.get('num_cpus', '?') if runs else '?'} "
             "cores, so these numbers include time lost to other work: "
             "latencies and anything involving a hand-off between threads "
             "are inflated, single-thread reads less so. Rerun on an idle "
             "machine before quoting absolute figures."
             if run_info.foreign_cpu_pct is not None else
             f"**Possibly busy machine.** {_sentence(run_info.busy_text())} "
             "(it includes compare.sh's own build, which ends just before "
             "the first benchmark); this run did not measure the CPU other "
             "work took, so whether its figures lost time to it is not "
             "known.")] + notes

    # Terminal.
    for s in sections:
        print(f"\n##### {s.title}")
        for t in s.tables:
            print()
            print(t.terminal())
        if s.checks:
            print()
            print(Table("Targets", ["check", "measured", "target", ""],
                        [[c.what, c.measured, c.target, c.mark]
                         for c in s.checks]).terminal())
    for note in skipped:
        print("note:", note)
    for note in notes + problems:
        print("note:", note)

    # Markdown.
    md = ["# Benchmark results", "",
          "Generated by `scripts/compare.sh"
          + (" --quick" if mode == "quick" else "")
          + "` (`scripts/report.py` renders `results/*.json`; do not edit "
          "by hand). All figures are medians of the repetitions of one run "
          "on the machine below; ratios are only meaningful within one run.",
          "", "Distributions, the push baseline, scaling to 100,000 "
          "entries, a stalled reader and the Go comparison: "
          "[study.md](study.md).", "", "## Machine", "", "| | |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in machine_info(runs, run_info)]
    md.append("")
    md += [n + "\n" for n in notes]
    if problems:
        md += ["**Problems in this run:**", ""]
        md += [f"- {p}" for p in problems] + [""]
    for s in sections:
        md += [f"## {s.title}", ""]
        if s.checks:
            md += ["### Targets", "", "| check | measured | target | |",
                   "|---|---:|---:|---|"]
            md += [f"| {c.what} | {c.measured} | {c.target} | "
                   f"**{c.mark}** |" for c in s.checks]
            md.append("")
            missed = [c for c in s.checks if c.mark == "MISS" and c.why]
            if missed:
                md += ["Missed targets, by how much and why:", ""]
                for c in missed:
                    by = c.missed_by()
                    md += [f"- **{c.what}**: measured {c.measured}, target "
                           f"{c.target}" + (f": {by}" if by else "")
                           + f". {c.why}"]
                md.append("")
        if s.intro:
            md += [s.intro, ""]
        for alt, path in s.images:
            md += [f"![{alt}]({path})", ""]
        for t in s.tables:
            md += [t.markdown(), ""]
        for n in s.notes:
            md += [n, ""]
    if skipped:
        md += ["## Skipped results", ""] + [f"- {n}" for n in skipped] + [""]
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "results.md").write_text("\n".join(md))
    print(f"\nwrote {docs / 'results.md'}"
          + ("" if plt else " (matplotlib missing: no plots)"))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="folder of <binary>.json")
    parser.add_argument("--docs", type=Path,
                        default=Path(__file__).resolve().parent.parent
                        / "docs")
    parser.add_argument("--mode", choices=["quick", "full"], default="full")
    parser.add_argument("--note", action="append", default=[],
                        help="a paragraph for the context section of "
                        "results.md (repeatable)")
    args = parser.parse_args()
    return render(args.results, args.docs, args.mode, args.note)


if __name__ == "__main__":
    sys.exit(main())
