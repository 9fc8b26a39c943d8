"""Plots of the design study (docs/img/study_*.png), for report_study.py.

Each function takes the loaded JSON documents and the image directory and
returns the file name it wrote, or None when matplotlib or the data is
missing. Uses Debian's python3-matplotlib (hence /usr/bin/python3).
"""

from __future__ import annotations

from pathlib import Path

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the report says the plots were skipped
    plt = None


def _cdf(ax, values, label):
    if not values:
        return
    v = sorted(values)
    n = len(v)
    ax.plot(v, [(i + 1) / n for i in range(n)], label=label)


def _tail(ax, values, label):
    """1 - CDF on a log axis: the rare slow operations a CDF hides."""
    if not values:
        return
    v = sorted(values)
    n = len(v)
    ax.plot(v[:-1], [(n - i - 1) / n for i in range(n - 1)], label=label)


def _label(ax, title: str, xlabel: str, ylabel: str | None = None,
           ylog: bool = False) -> None:
    """A log x axis (every per-op panel here), labels and a small legend."""
    ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)


def _save(fig, img: Path, name: str) -> str:
    img.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(img / name, dpi=110)
    plt.close(fig)
    return name


def cdfs(core: dict | None, push: dict | None, img: Path) -> str | None:
    """Per-op CDFs: reads and publishes (core), restarts and staleness (push)."""
    if plt is None or not core or not push:
        return None
    cs, ps = core.get("series", {}), push.get("series", {})
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    ax = axes[0]
    for name in ("floor", "hybrid_hazard", "hybrid_urcu", "hybrid_ebr",
                 "hybrid_qsbr"):
        _cdf(ax, cs.get(f"cdf/read/{name}"), f"read {name}")
    publishes = [(f"publish {name}", cs.get(f"cdf/publish/{name}"))
                 for name in ("hybrid_hazard", "hybrid_urcu", "hybrid_ebr",
                              "hybrid_qsbr", "alloc_free")]
    for label, values in publishes:
        _cdf(ax, values, label)
    _label(ax, "reads and publishes",
           "ns per operation (one TSC-timed op, timer included)",
           "fraction of operations")
    ax = axes[1]
    for label, values in publishes:
        _tail(ax, values, label)
    _label(ax, "publish tails (the scan spike)",
           "ns per publish (timer included)",
           "fraction of publishes slower (1 - CDF)", ylog=True)
    ax = axes[2]
    _cdf(ax, [x / 1e6 for x in ps.get("cdf/restart/hybrid", [])],
         "crash -> restarted (hybrid)")
    _label(ax, "restarts, real process", "ms")
    ax = axes[3]
    _cdf(ax, ps.get("cdf/staleness/hybrid"), "hybrid (polling host thread)")
    for k in (1, 4, 16):
        _cdf(ax, ps.get(f"cdf/staleness/messaging_push/subscribers:{k}"),
             f"push, {k} subscriber(s)")
    _label(ax, "staleness", "ns from publish to visible")
    return _save(fig, img, "study_cdf.png")


def scaling(rows: dict, img: Path) -> str | None:
    """Per-op costs against the number of entries (log-log)."""
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for layer, metric, label, field in (
            ("cells", "lookup", "registry lookup + read (cells)", "real_time"),
            ("cells", "read", "cell read (cells)", "real_time"),
            ("cells", "publish", "publish (cells)", "real_time"),
            ("cells", "sweep", "sweep, per entry (cells)", "per_entry_ns"),
            ("real", "lookup", "runtime::find + read (real)", "real_time"),
            ("real", "read", "handle read (real)", "real_time")):
        pts = sorted((int(k.rsplit(":", 1)[1]), r[field])
                     for k, r in rows.items()
                     if k.startswith(f"scaling/{layer}/{metric}/processes:"))
        if pts:
            ax.plot([n for n, _ in pts], [y for _, y in pts],
                    marker="s" if metric == "sweep" else "o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("entries (processes)")
    ax.set_ylabel("ns per operation")
    ax.legend(fontsize=7)
    ax.set_title("scaling with the number of processes")
    return _save(fig, img, "study_scaling.png")


def stall(core: dict | None, img: Path) -> str | None:
    if plt is None or not core:
        return None
    s = core.get("series", {})
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name in ("hybrid_hazard", "hybrid_urcu", "hybrid_ebr", "hybrid_qsbr"):
        t, g = s.get(f"stall/{name}/t_ms"), s.get(f"stall/{name}/garbage_bytes")
        if t and g:
            ax.plot(t, [max(x, 1) for x in g], label=name)
    ax.set_yscale("log")
    ax.set_xlabel("ms since the reader took its guard")
    ax.set_ylabel("garbage (retired, not freed), bytes")
    ax.set_title("one stalled reader, writer at full rate")
    ax.legend(fontsize=8)
    return _save(fig, img, "study_stall.png")


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks."""
    at = q * (len(sorted_values) - 1)
    low = int(at)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (
        at - low)


def _reader_bands(device: dict) -> tuple[dict, str]:
    """(variant, threads) -> (low, median, high) in ns per read per thread,
    and what the band is: the interquartile range when the file keeps each
    repetition, else +-1 stddev around the median (aggregates only)."""
    runs: dict[tuple[str, int], list[float]] = {}
    agg: dict[tuple[str, int], dict[str, float]] = {}
    for b in device.get("benchmarks", []):
        parts = b["run_name"].split("/")
        if parts[0] != "read" or not parts[-1].startswith("threads:"):
            continue
        threads = int(parts[-1].split(":")[1])
        key = (parts[1], threads)
        # real_time of a threaded run is per op over all threads.
        per_thread = b["real_time"] * threads
        if b.get("run_type") == "iteration":
            runs.setdefault(key, []).append(per_thread)
        else:
            agg.setdefault(key, {})[b.get("aggregate_name", "")] = per_thread
    if runs and all(len(v) >= 4 for v in runs.values()):
        n = min(len(v) for v in runs.values())
        bands = {}
        for key, values in runs.items():
            v = sorted(values)
            bands[key] = (_quantile(v, 0.25), _quantile(v, 0.5),
                          _quantile(v, 0.75))
        return bands, f"interquartile range of {n}+ repetitions"
    bands = {key: (max(a["median"] - a.get("stddev", 0), 1e-3), a["median"],
                   a["median"] + a.get("stddev", 0))
             for key, a in agg.items() if "median" in a}
    return bands, "+-1 stddev (the file keeps aggregates only)"


def reader_scaling(device: dict | None, img: Path) -> str | None:
    """ns per read per thread, 1-16 threads: median lines with a band (see
    _reader_bands)."""
    if plt is None or not device:
        return None
    bands, what = _reader_bands(device)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    lock_free = ("floor", "hybrid_hazard", "hybrid_urcu", "seqlock")
    for ax, variants, log in (
            (axes[0], lock_free + ("mutex", "shared_mutex",
                                   "atomic_shared_ptr"), True),
            (axes[1], lock_free, False)):
        for variant in variants:
            pts = sorted((t, b) for (v, t), b in bands.items() if v == variant)
            if not pts:
                continue
            ts = [t for t, _ in pts]
            line, = ax.plot(ts, [b[1] for _, b in pts], marker="o",
                            label=variant)
            ax.fill_between(ts, [b[0] for _, b in pts],
                            [b[2] for _, b in pts], alpha=0.2,
                            color=line.get_color())
        ax.set_xscale("log", base=2)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("reader threads (16-core machine)")
        ax.set_ylabel("ns per read per thread")
        ax.legend(fontsize=7)
    axes[0].set_title("all variants (log scale)")
    axes[1].set_title("lock-free variants (linear scale)")
    fig.suptitle(f"reader scaling: median, band: {what}")
    return _save(fig, img, "study_reader_scaling16.png")
