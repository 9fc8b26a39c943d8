"""The "Remote nodes (loopback)" section of docs/results.md (issue 13):
results/vitrine_bench_remote.json (bench/remote_bench.cpp and
bench/remote_fleet_bench.cpp), set beside the in-process reads of the same
run (results/vitrine_bench_messaging.json, when present). Plot:
docs/img/remote.png.

Imported by scripts/report.py, which registers the section."""

from __future__ import annotations

from pathlib import Path

from report_model import (Bench, Check, Run, Section, Table, fmt_big_ratio,
                    fmt_bytes, labelled_hbars, load_run)
from report_outside import _t  # fmt_ns, with "ns" spelled out

GOAL_RATIO = 1e4  # mirrored read at least this much faster than a request
GOAL_P99_NS = 1e6  # propagation p99 on loopback
COLORS = {"remote": "tab:orange", "in-process": "tab:blue",
          "node loss / fleet": "tab:gray"}


def _counter(b: Bench | None, name: str, scale: float = 1.0) -> float | None:
    if b is None or name not in b.counters:
        return None
    return b.counters[name] * scale


def _in_process(run: Run) -> Run | None:
    path = run.path.parent / "vitrine_bench_messaging.json"
    try:
        return load_run(path) if path.exists() else None
    except (ValueError, KeyError):
        return None


def _fleet(run: Run) -> Bench | None:
    return next((b for b in run.benches
                 if b.kind == "remote" and b.variant == "fleet"), None)


VARIANT_ROWS = ("remote/propagation/bare_child",
                "remote/propagation/run_queue_wait")


def _propagation(run: Run) -> tuple[Bench | None, Bench | None,
                                     Bench | None]:
    """The `remote/propagation` row (churn = `sleep 0.005`), its
    bare_child variant (churn_bare, running bare_sleep in its place) and
    its run_queue_wait variant (the first again, reading each sample's
    wait for a CPU)."""
    main = next((b for b in run.benches
                 if b.run_name.startswith("remote/propagation/")
                 and not b.run_name.startswith(VARIANT_ROWS)), None)
    return (main, run.named(VARIANT_ROWS[0]), run.named(VARIANT_ROWS[1]))


def _waits_text(waits: Bench | None) -> str:
    """What the run_queue_wait row measured, or "" without it."""
    over = _counter(waits, "start_over_1ms_samples")
    starts = _counter(waits, "start_samples")
    if not starts or over is None:
        return ""
    text = (f" The same run's `remote/propagation/run_queue_wait` (the "
            f"first row again, {starts:,.0f} starts, each followed by "
            "reading every thread's run-queue wait from /proc schedstat): "
            f"{over:,.0f} starts took over 1 ms")
    if over:
        text += (
            f", with a median delay of "
            f"{_t(_counter(waits, 'start_over_1ms_delay_p50_us', 1e3))} and "
            f"a median "
            f"{_t(_counter(waits, 'start_over_1ms_wait_p50_us', 1e3))} "
            "during which threads of the node and the controller were "
            "runnable but waiting for a CPU (summed over threads, since "
            "the previous transition: the backoff's end, the spawn and the "
            "propagation); the starts under 1 ms took a median "
            f"{_t(_counter(waits, 'start_under_1ms_delay_p50_us', 1e3))} "
            f"and waited "
            f"{_t(_counter(waits, 'start_under_1ms_wait_p50_us', 1e3))}.")
    else:
        text += "."
    return text


def _propagation_why(prop: Bench | None, bare: Bench | None,
                     waits: Bench | None, cores: str) -> str:
    text = (f"Each transition passes up to six threads on {cores} cores: the "
            "node's CAF worker (process actor, server actor) and middleman "
            "thread, its framing guard (a relay thread), the controller's "
            "middleman thread, a CAF worker for its mirror actor, and the "
            "woken reader.")
    start = _counter(prop, "start_p99_us", 1e3)
    other = _counter(prop, "exit_p99_us", 1e3)
    bare_p99 = _counter(bare, "p99_us", 1e3)
    p99 = _counter(prop, "p99_us", 1e3)
    if start and other and bare_p99 and p99:
        text += (f" Measured in this run: the start transitions' p99 was "
                 f"{_t(start)}, the exit transitions' {_t(other)}; with "
                 "the churning `sleep` replaced by bare_sleep (no dynamic "
                 "loader, no libc: the new child's own start-up is the only "
                 f"difference, `remote/propagation/bare_child`) the p99 was "
                 f"{_t(bare_p99)} (starts "
                 f"{_t(_counter(bare, 'start_p99_us', 1e3))}).")
        waited = _waits_text(waits)
        text += waited
        over_wait = _counter(waits, "start_over_1ms_wait_p50_us", 1e3)
        under_wait = _counter(waits, "start_under_1ms_wait_p50_us", 1e3)
        over_delay = _counter(waits, "start_over_1ms_delay_p50_us", 1e3)
        under_delay = _counter(waits, "start_under_1ms_delay_p50_us", 1e3)
        queued = (waited and over_wait and under_wait is not None
                  and over_delay and under_delay is not None
                  and over_wait - under_wait >= 0.5 * (over_delay
                                                       - under_delay))
        if bare_p99 <= 0.75 * p99 and queued:
            text += (" So most of the tail comes with the new child's "
                     "start-up (ld.so, libc, page faults) running while its "
                     "`running` state travels, and the slow starts' extra "
                     f"{_t(over_delay - under_delay)} of delay came with "
                     f"{_t(over_wait - under_wait)} more of the node's "
                     "and the controller's threads queued for a CPU. "
                     "Which hand-off waited is not split out, and a sum "
                     "over threads counts overlapping waits twice.")
        elif bare_p99 <= 0.75 * p99:
            text += (" So most of the tail comes from the new child's "
                     "start-up (ld.so, libc, page faults) running while its "
                     "`running` state travels; that it holds the cores the "
                     "path's threads wait for is the likely mechanism (a "
                     "hypothesis: this run did not show the threads "
                     "queued for a CPU).")
        else:
            text += (" So the new child's start-up does not explain the "
                     "tail here; which hand-off waits is not measured.")
    elif start and other:
        text += (f" Measured in this run: the start transitions' p99 was "
                 f"{_t(start)}, the exit transitions' {_t(other)}. This "
                 "run does not measure why starts wait longer, nor which "
                 "hand-off waits.")
    else:
        text += (" Hypothesis, not measured here: the tail is scheduling "
                 "delay when other work holds the cores.")
    return text


def section_remote(run: Run, img_dir: Path, img_rel: str) -> Section:
    s = Section(
        "Remote nodes (loopback)",
        intro=("A controller runtime mirrors nodes (other processes, "
               "`runtime::serve`) over CAF's middleman on 127.0.0.1, through "
               "the node's framing guard, without TLS "
               "(docs/distribution.md). The churn node supervises 8 idle "
               "programs and one that exits every 5 ms; *mirror* reads "
               "`node.find(\"p0\").read()`, the controller's local mirror "
               "cell; *request* is `node.ask(\"p0\")`, one request to the "
               "node and its answer. *Propagation*: a transition on the "
               "node until a reader blocked on the mirrored cell wakes with "
               "it (both stamped with CLOCK_MONOTONIC). The in-process "
               "columns are the same run's `read/hybrid` and "
               "`read/messaging_blocking` (one local process, one reader)."))
    local = _in_process(run)

    def ns(name: str, r: Run | None = run) -> float | None:
        b = None if r is None else r.named(name)
        return None if b is None else b.real_ns

    mirror, ask = ns("remote/read/mirror"), ns("remote/read/messaging")
    hybrid = ns("read/hybrid", local)
    msg = ns("read/messaging_blocking", local)
    prop, bare, waits = _propagation(run)
    p50, p99 = _counter(prop, "p50_us", 1e3), _counter(prop, "p99_us", 1e3)
    bare_p99 = _counter(bare, "p99_us", 1e3)
    ratio = None if not mirror or ask is None else ask / mirror
    s.tables.append(Table(
        "Reading a process's state: remote node vs in-process",
        ["read", "remote node (loopback)", "in-process", "goal"],
        [["mirrored / published cell (`read()`)", _t(mirror), _t(hybrid),
          ""],
         ["request (`ask()` / blocking request)", _t(ask), _t(msg), ""],
         ["request / read", fmt_big_ratio(ask, mirror),
          fmt_big_ratio(msg, hybrid), f">= {GOAL_RATIO:,.0f}x"],
         ["propagation node -> mirror, p50", _t(p50), "", ""],
         ["propagation node -> mirror, p99", _t(p99), "",
          f"<= {_t(GOAL_P99_NS)}"],
         *[[f"... {kind} transitions only, p50 / p99",
            f"{_t(_counter(prop, key + '_p50_us', 1e3))} / "
            f"{_t(_counter(prop, key + '_p99_us', 1e3))}", "", ""]
           for kind, key in (("start", "start"), ("exit", "exit"))
           if _counter(prop, key + "_p99_us", 1e3)],
         *([["propagation, bare_sleep churning, p50 / p99",
             f"{_t(_counter(bare, 'p50_us', 1e3))} / {_t(bare_p99)}", "",
             ""],
            ["... start transitions only, p50 / p99",
             f"{_t(_counter(bare, 'start_p50_us', 1e3))} / "
             f"{_t(_counter(bare, 'start_p99_us', 1e3))}", "", ""]]
           if bare_p99 else []),
         *([["`sleep` starts over 1 ms (run_queue_wait row): count, "
             "median delay / median CPU wait",
             f"{_counter(waits, 'start_over_1ms_samples'):,.0f} of "
             f"{_counter(waits, 'start_samples'):,.0f}, "
             f"{_t(_counter(waits, 'start_over_1ms_delay_p50_us', 1e3))} / "
             f"{_t(_counter(waits, 'start_over_1ms_wait_p50_us', 1e3))}",
             "", ""],
            ["... starts under 1 ms: median delay / median CPU wait",
             f"{_t(_counter(waits, 'start_under_1ms_delay_p50_us', 1e3))} "
             f"/ {_t(_counter(waits, 'start_under_1ms_wait_p50_us', 1e3))}",
             "", ""]]
           if _counter(waits, "start_samples") else [])],
        "" if prop is None else
        f"Propagation: {prop.counters.get('samples', 0):,.0f} transitions"
        + (f" ({prop.counters.get('start_samples', 0):,.0f} starts: "
           "`running`, published as the node's new child has just exec'd; "
           f"{prop.counters.get('exit_samples', 0):,.0f} after an exit)"
           if "start_samples" in prop.counters else "") + " of `sleep "
        "0.005`, restarted at once."
        + ("" if not bare_p99 else
           " *bare_sleep churning*: right after, on the same node, that "
           "program is stopped and a second one with the same settings "
           "runs bench/bare_sleep.cpp instead (sleeps 5 ms with no dynamic "
           "loader and no libc), `remote/propagation/bare_child`; only the "
           "new child's own start-up differs.")
        + ("" if not _counter(waits, "start_samples") else
           " *CPU wait*: the threads of the node and the controller, "
           "summed, runnable but not running (schedstat run_delay) between "
           "the previous transition's arrival and this one's, read after "
           "each sample in a separate pass "
           "(`remote/propagation/run_queue_wait`) so the reads stay out of "
           "the rows above.")))
    s.checks.append(Check(
        "remote: mirrored read vs request to the node",
        fmt_big_ratio(ask, mirror), f">= {GOAL_RATIO:,.0f}x",
        None if ratio is None else ratio >= GOAL_RATIO, value=ratio,
        limit=GOAL_RATIO, at_least=True))
    s.checks.append(Check(
        "remote: propagation node -> mirror, p99 (loopback)", _t(p99),
        f"<= {_t(GOAL_P99_NS)}", None if p99 is None else p99 <= GOAL_P99_NS,
        value=p99, limit=GOAL_P99_NS,
        why=_propagation_why(prop, bare, waits,
                             str(run.context.get("num_cpus", "?")))))
    if bare_p99:
        s.checks.append(Check(
            "remote: propagation p99 with a child that has no start-up work "
            "(bare_sleep)", _t(bare_p99), f"(<= {_t(GOAL_P99_NS)})",
            None, info=True))

    fleet = _fleet(run)
    fleet_rows = []
    if fleet is not None:
        nodes = fleet.params.get("nodes", "?")
        per = fleet.params.get("processes", "?")
        per = f"{int(per):,}" if per.isdigit() else per
        cpu_mirror = _counter(fleet, "cpu_mirror_ms", 1e6)
        fleet_rows = [
            ["time from connect() to every process mirrored as running",
             _t(fleet.real_ns)],
            ["controller RSS growth per mirrored process",
             fmt_bytes(_counter(fleet, "rss_bytes_per_process"))],
            ["controller heap growth per mirrored process (mallinfo2)",
             fmt_bytes(_counter(fleet, "heap_bytes_per_process"))],
            ["controller CPU time over that span (user + sys)",
             _t(cpu_mirror) + ("" if not cpu_mirror or not fleet.real_ns
                               else f" ({100 * cpu_mirror / fleet.real_ns:.0f}"
                               "% of one core)")],
            ["controller CPU at rest afterwards ("
             f"{fleet.counters.get('idle_window_s', 0):.1f} s window)",
             f"{fleet.counters.get('cpu_idle_pct', 0):.2f}% of one core"]]
        s.tables.append(Table(
            f"A controller mirroring {nodes} nodes x {per} processes "
            f"({fleet.counters.get('processes', 0):,.0f} in all)",
            ["figure", "measured"], fleet_rows,
            "Each node is a separate process supervising idle `sleep` "
            "programs, all running before the controller connects; a fresh "
            "controller runtime per repetition. RSS and CPU are the whole "
            "controller process's (getrusage, /proc/self/statm), so they "
            "include CAF's threads and connections."
            + ("" if not per.replace(",", "").isdigit()
               or int(per.replace(",", "")) >= 1000 else
               f" **Fewer than the issue's 1,000 processes per node**: the "
               f"hard RLIMIT_NOFILE was "
               f"{fleet.counters.get('nofile_hard', 0):,.0f} (a node holds 2 "
               "descriptors per program), or VITRINE_REMOTE_FLEET_PROCESSES "
               "was set.")))

    frozen = next((b for b in run.benches if b.kind == "remote"
                   and b.variant == "frozen_to_unknown"), None)
    unknown = bound = None
    if frozen is not None:
        unknown = _counter(frozen, "unknown_p50_ms", 1e6)
        bound = _counter(frozen, "bound_ms", 1e6)
        hb = frozen.params.get("heartbeat_ms", "?")
        to = frozen.params.get("timeout_ms", "?")
        s.tables.append(Table(
            f"A frozen node (SIGSTOP), heartbeat {hb} ms, timeout {to} ms",
            ["figure", "p50", "max"],
            [["SIGSTOP -> node lost and a process reads `unknown`",
              _t(unknown), _t(_counter(frozen, "unknown_max_ms", 1e6))],
             ["documented bound (heartbeat + timeout)", _t(bound), ""],
             ["SIGCONT -> resynchronised, the process reads `running`",
              _t(_counter(frozen, "resync_p50_ms", 1e6)),
              _t(_counter(frozen, "resync_max_ms", 1e6))]],
            f"{frozen.counters.get('cycles', 0):.0f} freeze/thaw cycles of "
            "one node of 8 processes; reconnection backoff 50-200 ms."))
        s.checks.append(Check(
            "remote: frozen node -> `unknown`, p50", _t(unknown),
            f"<= {_t(bound)} (heartbeat + timeout)",
            None if unknown is None or bound is None else unknown <= bound,
            value=unknown, limit=bound))

    # Longest bars first: the legend sits at the lower right, over the
    # shortest ones.
    plot = [("fleet: connect -> full mirror",
             None if fleet is None else fleet.real_ns, "node loss / fleet"),
            ("frozen node -> unknown, p50", unknown, "node loss / fleet"),
            ("resynchronised after SIGCONT, p50",
             _counter(frozen, "resync_p50_ms", 1e6), "node loss / fleet"),
            ("remote: propagation p99", p99, "remote"),
            ("remote: propagation p50", p50, "remote"),
            ("remote: request to the node", ask, "remote"),
            ("in-process: blocking request", msg, "in-process"),
            ("remote: mirrored read", mirror, "remote"),
            ("in-process: hybrid read", hybrid, "in-process")]
    if labelled_hbars(img_dir / "remote.png",
                      "Remote nodes on loopback (median, log scale)", plot,
                      "ns", COLORS):
        s.images.append(("remote reads, propagation, node loss and fleet",
                         f"{img_rel}/remote.png"))
    return s
