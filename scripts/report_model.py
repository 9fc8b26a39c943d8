"""The building blocks of scripts/report.py: a results file loaded as a
Run of Benches (medians of Google Benchmark's aggregates), the Check, Table
and Section a report section is made of, number formatting, and the plots.

Imported by report.py and its section modules (report_core, report_messaging,
report_e2e, report_outside, report_remote) and by report_study*.py; only the
standard library and matplotlib (plots are skipped without it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# -- loading ------------------------------------------------------------------


@dataclass
class Bench:
    """One benchmark's median aggregate, with its name parsed.

    Names look like kind/variant/key:value/.../real_time/threads:N."""

    run_name: str
    kind: str
    variant: str
    params: dict[str, str]
    threads: int
    real_ns: float
    cpu_ns: float
    counters: dict[str, float]
    label: str
    cv_real: float | None = None  # coefficient of variation of real time
    # Each repetition's real time and counters, when the results file has
    # them (compare.sh keeps them for the end-to-end benchmark only).
    reps_real_ns: list[float] = field(default_factory=list)
    reps_counters: list[dict[str, float]] = field(default_factory=list)

    def rep_max(self, counter: str) -> float | None:
        """Largest value of a counter over the repetitions (the median's
        value when the repetitions were not kept)."""
        values = [c[counter] for c in self.reps_counters if counter in c]
        if values:
            return max(values)
        return self.counters.get(counter)


@dataclass
class Run:
    """One results file: the context block and the median of each benchmark."""

    name: str
    path: Path
    context: dict
    benches: list[Bench]
    # The machine's core count (Google Benchmark's num_cpus of the first
    # results file that has it), for prose; render() sets it.
    machine_cores: str = "?"

    def repetition_order_note(self) -> str:
        """A sentence for a section's intro when the repetitions of this
        file's rows ran interleaved (compare.sh), else ''."""
        if self.context.get("repetition_order") != "interleaved":
            return ""
        return (" The repetitions of all rows ran interleaved in a random "
                "order, so that a spell of noise on the shared host spreads "
                "over the rows compared instead of falling on one row.")

    def find(self, kind: str, variant: str, threads: int = 1,
             **params: str) -> Bench | None:
        for b in self.benches:
            if (b.kind == kind and b.variant == variant
                    and b.threads == threads
                    and all(b.params.get(k) == str(v)
                            for k, v in params.items())):
                return b
        return None

    def named(self, prefix: str) -> Bench | None:
        """The benchmark whose name is `prefix` or starts with `prefix/`
        (e.g. "e2e/sweep/hybrid" for "e2e/sweep/hybrid/real_time")."""
        for b in self.benches:
            if b.run_name == prefix or b.run_name.startswith(prefix + "/"):
                return b
        return None

    def variants(self, kind: str) -> list[str]:
        seen: list[str] = []
        for b in self.benches:
            if b.kind == kind and b.variant not in seen:
                seen.append(b.variant)
        return seen


_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "threads", "aggregate_name", "aggregate_unit",
    "iterations", "real_time", "cpu_time", "time_unit", "label",
    "repetition_index", "error_occurred", "error_message",
}


def _parse_name(run_name: str) -> tuple[str, str, dict[str, str]]:
    parts = run_name.split("/")
    kind = parts[0]
    variant = parts[1] if len(parts) > 1 else ""
    params = {}
    for p in parts[2:]:
        if ":" in p:
            k, v = p.split(":", 1)
            params[k] = v
    return kind, variant, params


def load_run(path: Path) -> Run:
    data = json.loads(path.read_text())
    medians: dict[str, Bench] = {}
    cvs: dict[str, float] = {}
    reps: dict[str, list[tuple[float, dict[str, float]]]] = {}
    # Registration order, also when the repetitions ran interleaved.
    items = sorted(data.get("benchmarks", []),
                   key=lambda b: (b.get("family_index", 0),
                                  b.get("per_family_instance_index", 0)))
    for item in items:
        if item.get("error_occurred"):
            continue
        run_name = item.get("run_name", item["name"])
        aggregate = item.get("aggregate_name")
        if item.get("run_type") == "aggregate" and aggregate == "cv":
            cvs[run_name] = float(item["real_time"])
            continue
        unit = _UNIT_NS[item.get("time_unit", "ns")]
        counters = {k: float(v) for k, v in item.items()
                    if k not in _STANDARD_KEYS
                    and isinstance(v, (int, float))}
        if item.get("run_type") == "iteration":
            reps.setdefault(run_name, []).append(
                (float(item["real_time"]) * unit, counters))
        # Median aggregate; a run without repetitions has plain iterations.
        if item.get("run_type") == "aggregate" and aggregate != "median":
            continue
        if item.get("run_type") == "iteration" and run_name in medians:
            continue
        kind, variant, params = _parse_name(run_name)
        medians[run_name] = Bench(
            run_name=run_name, kind=kind, variant=variant, params=params,
            threads=int(item.get("threads", 1)),
            real_ns=float(item["real_time"]) * unit,
            cpu_ns=float(item["cpu_time"]) * unit,
            counters=counters, label=item.get("label", ""))
    for name, cv in cvs.items():
        if name in medians:
            medians[name].cv_real = cv
    for name, items in reps.items():
        if name in medians and len(items) > 1:
            medians[name].reps_real_ns = [r for r, _ in items]
            medians[name].reps_counters = [c for _, c in items]
    return Run(name=path.stem, path=path, context=data.get("context", {}),
               benches=list(medians.values()))


# -- output building blocks ---------------------------------------------------


@dataclass
class Check:
    """A target from the issue, evaluated on one run."""

    what: str
    measured: str
    target: str
    ok: bool | None  # None: not measured
    info: bool = False  # informational: no target, just the figure
    # For a MISS: what it means and why (a paragraph for docs/results.md).
    why: str = ""
    # Numbers behind the check, to say by how much a MISS missed.
    value: float | None = None
    limit: float | None = None
    at_least: bool = False  # the target is a minimum (e.g. a speed-up)

    def missed_by(self) -> str:
        if self.value is None or not self.limit:
            return ""
        if self.at_least:
            return (f"{self.limit / self.value:.1f}x short of the target "
                    f"({100 * self.value / self.limit:.0f}% of it)")
        return (f"{self.value / self.limit:.1f}x the target (over by "
                f"{100 * (self.value - self.limit) / self.limit:.0f}%)")

    @property
    def mark(self) -> str:
        if self.info:
            return "INFO"
        return {True: "PASS", False: "MISS", None: "N/A"}[self.ok]


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""

    def terminal(self) -> str:
        widths = [max(len(str(c)) for c in col)
                  for col in zip(self.header, *self.rows)]
        line = lambda cells: "  ".join(  # noqa: E731
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths)))
        out = [self.title, line(self.header),
               line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"**{self.title}**", "",
               "| " + " | ".join(self.header) + " |",
               "|" + "|".join(["---"] + ["---:"] * (len(self.header) - 1))
               + "|"]
        out += ["| " + " | ".join(str(c) for c in r) + " |"
                for r in self.rows]
        if self.note:
            out += ["", self.note]
        return "\n".join(out)


@dataclass
class Section:
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (alt, path)
    notes: list[str] = field(default_factory=list)


def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    if ns < 0:  # a difference (e.g. "above the floor" in a noisy run)
        return "-" + fmt_ns(-ns)
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    if ns >= 100:
        return f"{ns:.0f}"
    if ns >= 10:
        return f"{ns:.1f}"
    return f"{ns:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def fmt_big_ratio(a: float | None, b: float | None) -> str:
    """A ratio that may span orders of magnitude: 3 significant digits."""
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def fmt_bytes(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1024 * 1024:
        return f"{x / (1024 * 1024):.2f} MiB"
    if abs(x) >= 1024:
        return f"{x / 1024:.2f} KiB"
    return f"{x:.0f} B"


def fmt_count(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) < 0.01:
        return f"{x:.1e}"
    return f"{x:.2f}"


def fmt_cv(b: Bench | None) -> str:
    if b is None or b.cv_real is None:
        return "-"
    return f"{100 * b.cv_real:.0f}%"


# -- plots --------------------------------------------------------------------

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the report still works without plots
    plt = None


def grouped_bars(path: Path, title: str, groups: list[str],
                 series: dict[str, list[float | None]], ylabel: str,
                 log: bool = True) -> bool:
    """One bar per series inside each group. Returns False without
    matplotlib."""
    if plt is None:
        return False
    n = max(len(series), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(groups) + 3), 4.5))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        ys = [v if v is not None else 0 for v in values]
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def bar_label(ax, bars, texts: list[str]) -> None:
    for bar, text in zip(bars, texts):
        if not text:
            continue
        if bar.get_width() > bar.get_height():  # horizontal
            ax.annotate(text, (bar.get_width(), bar.get_y()
                               + bar.get_height() / 2),
                        xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)
        else:
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2,
                               bar.get_height()),
                        xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)


def labelled_hbars(path: Path, title: str,
                   rows: list[tuple[str, float | None, str]], xlabel: str,
                   colors: dict[str, str]) -> bool:
    """One horizontal bar per (label, value, group), log scale, the value
    written at the end of each bar; bars coloured by group."""
    if plt is None:
        return False
    rows = [r for r in rows if r[1] is not None and r[1] > 0]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(9.0, 0.45 * len(rows) + 1.6))
    ys = list(range(len(rows)))[::-1]
    bars = ax.barh(ys, [v for _, v, _ in rows],
                   color=[colors.get(g, "gray") for _, _, g in rows])
    bar_label(ax, bars, [fmt_ns(v) + (" ns" if v < 1e3 else "")
                          for _, v, _ in rows])
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _, _ in rows], fontsize=8)
    ax.set_xscale("log")
    lo = min(v for _, v, _ in rows)
    hi = max(v for _, v, _ in rows)
    ax.set_xlim(lo / 3, hi * 12)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", which="major", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    ax.legend(handles, list(colors), fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- per-read figures ----------------------------------------------------------


def read_ns(b: Bench | None) -> float | None:
    """Wall time per read per reader thread (GB's real time is wall time
    divided by the iterations of all threads)."""
    return None if b is None else b.real_ns * b.threads
