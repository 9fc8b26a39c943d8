#!/usr/bin/python3
"""The "peers" section of docs/results.md: supervisord, s6 and `vitrine run`
on the end-to-end workload, rendered from results/peers.json (written by
scripts/peers.py). scripts/report.py calls render() and wraps what it
returns in its own Section and Table types, so this module depends on
nothing but the standard library (and matplotlib for the plot, when
present). Called from report.py's single thread; cost: one small plot.
"""

from __future__ import annotations

import json
from pathlib import Path

STEM = "peers"  # results/peers.json

COLORS = {"supervisord": "tab:red", "s6": "tab:green",
          "s6_notify": "tab:olive", "vitrine_run": "tab:blue"}

IDLE_TARGET_PERCENT = 0.1  # issue 14, item 2



def wake_text(m: dict) -> str:
    """The measured wake-up rate of the idle window, as a sentence."""
    w = m.get("idle_wakeups_per_s")
    return ("" if w is None else
            f"Measured in this run: {w:.1f} wake-ups per second over all "
            "of its threads. ")

def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.0f} ms" if x >= 0.1 else f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} us"


def _fmt_ms(x: float | None) -> str:
    return "-" if x is None else _fmt_s(x / 1e3)


def _fmt_bytes(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1 << 20:
        return f"{x / (1 << 20):.1f} MiB"
    return f"{x / 1024:.1f} KiB"


def _fmt_count(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _plot(path: Path, peers: list[tuple[str, dict, dict]], n: int) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [
        (f"all {n:,} running (s)", "start_exec_s", 1.0),
        ("restart p50 (ms)", "restart_p50_ms", 1.0),
        ("graceful stop of all (s)", "stop_s", 1.0),
        ("supervisor PSS (MiB)", "pss_bytes", 1.0 / (1 << 20)),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(12.5, 3.6))
    for ax, (title, key, scale) in zip(axes, panels):
        labels, values, colors = [], [], []
        for k, entry, med in peers:
            v = med.get(key)
            if v is None:
                continue
            labels.append(entry["label"].replace(" + ", "\n+ "))
            values.append(v * scale)
            colors.append(COLORS.get(k, "gray"))
        bars = ax.bar(range(len(values)), values, color=colors)
        for bar, v in zip(bars, values):
            ax.annotate(f"{v:,.0f}" if v >= 100 else f"{v:.3g}", (bar.get_x() + bar.get_width() / 2,
                                     bar.get_height()),
                        xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.margins(y=0.2)
    fig.suptitle(f"Peers on {n:,} /bin/sleep programs (median; log scale)",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def render(path: Path, img_dir: Path, img_rel: str) -> dict:
    """{title, intro, tables: [{title, header, rows, note}], images:
    [(alt, path)], notes: [str], checks: [{what, measured, target, ok}]}."""
    data = json.loads(path.read_text())
    n = int(data["processes"])
    reps = data.get("repetitions", "?")
    idle = data.get("idle_window_s", 10)
    tick_pct = 100.0 / data.get("clk_tck", 100) / idle
    entries = data.get("peers", {})
    ran = [(k, e, e.get("median", {})) for k, e in entries.items()
           if not e.get("skipped") and e.get("median")]
    out = {
        "title": f"Peers: supervisord, s6 and `vitrine run` on {n:,} "
                 f"programs (`{path.name}`)",
        "intro": (
            f"Measured {data.get('date_utc', '?')} in "
            f"{data.get('seconds', '?')} s on {data.get('cores', '?')} "
            "cores. "
            f"`scripts/peers.py` (run by `scripts/compare.sh`) starts each "
            f"supervisor on the end-to-end benchmark's workload, {n:,} "
            "`/bin/sleep 1000000` restarted at once when they die, output "
            "discarded, and measures it from outside, the same way for "
            f"each; {reps} repetition{'' if reps == 1 else 's'}, figures "
            "are medians (restart: over "
            "all samples of all repetitions). *all running*: from the "
            "launch of the supervisor until every program has exec'd "
            "`/bin/sleep`, seen in /proc (a process belongs to the "
            "supervisor's tree when its parent does; the supervisor is not "
            "asked); *status says so*: until the supervisor's own status "
            "(XML-RPC, s6's status files, vitrine's --json-status file) "
            "reports all running, polled once all have exec'd. *restart*: "
            "SIGKILL one program, time until its replacement has exec'd "
            "(polled every 0.2 ms; each sample kills a different program; "
            f"{data.get('restart_samples', 30)} samples per repetition, "
            f"{data.get('restart_samples_slow', 5)} when they take over "
            "0.2 s each). "
            "*stop*: SIGTERM to the supervisor until every process of its "
            "tree is gone. *PSS/RSS*: the supervisor's own processes (not "
            "the programs): RSS counts shared pages once per process, PSS "
            "splits them. *idle CPU*: user + system time of those processes "
            f"over a {idle:g} s window with nothing happening, in % of one "
            f"core (clock-tick accounting: one tick is {tick_pct:.2g} %). "
            "*survivors*: SIGKILL the supervisor, count its tree's live "
            "processes 1 s later. Status of one/all: the native tool "
            "(supervisorctl is a Python program: each call starts an "
            "interpreter) and the state read directly. Each peer's "
            "set-up is listed below the tables."),
        "tables": [], "images": [], "notes": [], "checks": [],
    }
    if data.get("loadavg_before", 0) > 1.5:
        out["notes"].append(
            f"**Busy machine**: the 1-minute load average was "
            f"{data['loadavg_before']:.1f} before the peers ran and "
            f"{data.get('loadavg_after', 0):.1f} after, on "
            f"{data.get('cores', '?')} cores (a load that includes this "
            "run's own benchmarks before and the peers' 1,000-program "
            "fleets after; what else ran is not measured): times may be "
            "inflated, the counts and memory are not.")
    rows = []
    for k, e, m in ran:
        rows.append([e["label"], _fmt_s(m.get("start_exec_s")),
                     _fmt_s(m.get("start_reported_s")),
                     _fmt_s(m.get("first_exec_s")),
                     _fmt_ms(m.get("restart_p50_ms")),
                     _fmt_ms(m.get("restart_p99_ms")),
                     _fmt_s(m.get("stop_s"))])
    out["tables"].append({
        "title": f"Start, restart, stop ({n:,} programs)",
        "header": ["", "all running", "status says so", "first exec",
                   "restart p50", "restart p99", "graceful stop"],
        "rows": rows,
        "note": ("*first exec*: launch until the first program had "
                 "exec'd, the supervisor's own start-up.")})
    rows = []
    for k, e, m in ran:
        rows.append([e["label"], _fmt_ms(m.get("status_one_api_ms")),
                     _fmt_ms(m.get("status_all_api_ms")),
                     _fmt_ms(m.get("status_one_cli_ms")),
                     _fmt_ms(m.get("status_all_cli_ms")),
                     _fmt_ms(m.get("status_one_direct_ms")),
                     _fmt_ms(m.get("status_all_direct_ms"))])
    out["tables"].append({
        "title": "Status of one program and of all",
        "header": ["", "one, API", "all, API", "one, CLI", "all, CLI",
                   "one, read directly", "all, read directly"],
        "rows": rows,
        "note": ("supervisord: API = XML-RPC getProcessInfo / "
                 "getAllProcessInfo over its unix socket, CLI = "
                 "`supervisorctl status [NAME]`. s6: CLI = `s6-svstat DIR` "
                 "(one process per service; all = a shell loop over the "
                 "scan directory), read directly = the 35-byte "
                 "`supervise/status` files. vitrine run: CLI = `vitrine "
                 "status [NAME]` (it reads the run's shared-memory status "
                 "table), read directly = parsing the --json-status file; "
                 "a program of another process reads one slot of the table "
                 "in nanoseconds (the status table section), and the "
                 "embedded API one state (the end-to-end section).")})
    rows = []
    for k, e, m in ran:
        surv = e.get("survivors", {})
        rows.append([e["label"], _fmt_count(m.get("helper_processes")),
                     _fmt_bytes(m.get("rss_bytes")),
                     _fmt_bytes(m.get("pss_bytes")),
                     _fmt_bytes(None if m.get("pss_bytes") is None
                                else m["pss_bytes"] / n),
                     f"{m['idle_cpu_percent']:.2f} %"
                     if m.get("idle_cpu_percent") is not None else "-",
                     f"{_fmt_count(surv.get('survivor_programs'))} programs, "
                     f"{_fmt_count(surv.get('survivor_helpers'))} others"])
    out["tables"].append({
        "title": "Footprint, idle cost, and what survives the supervisor",
        "header": ["", "supervisor processes", "RSS", "PSS",
                   "PSS per program", f"idle CPU ({idle:g} s)",
                   "alive 1 s after SIGKILL of the supervisor"],
        "rows": rows,
        "note": ""})
    for k, e in entries.items():
        for f in e.get("failures", []):
            out["notes"].append(f"{e['label']}: a repetition failed and is "
                                f"not in the medians: {f}.")
        if e.get("skipped"):
            out["notes"].append(f"{e['label']}: not measured: {e['skipped']}.")
    out["notes"].append("How each peer was set up: " + "; ".join(
        f"**{e['label']}**: {e['how']}" for _, e, _m in ran) + ".")
    if data.get("leftover_processes"):
        out["notes"].append(
            f"**{data['leftover_processes']} processes were left behind** "
            "by the measurement and killed at its end.")
    vit = next((m for k, _e, m in ran if k == "vitrine_run"), None)
    if vit is not None and vit.get("idle_cpu_percent") is not None:
        v = vit["idle_cpu_percent"]
        out["checks"].append({
            "what": f"vitrine run: idle CPU, {n:,} programs, {idle:g} s "
                    "window", "measured": f"{v:.2f} %",
            "target": f"<= {IDLE_TARGET_PERCENT} %",
            "ok": v <= IDLE_TARGET_PERCENT, "value": v,
            "limit": IDLE_TARGET_PERCENT,
            "why": (wake_text(vit) + "Not measured per thread in this "
                    "run. Where they can come from: each CAF worker's look "
                    "for work to steal (every 10 s in vitrine run), the "
                    "status table's heartbeat (every 5 s), and the run "
                    "loop, which idles until a change is published. With "
                    "clock-tick accounting one tick over the window is "
                    f"{tick_pct:.2g} %.")})
    if ran and _plot(img_dir / "peers.png", ran, n):
        out["images"].append(("peers: start, restart, stop, memory",
                              f"{img_rel}/peers.png"))
    return out
