"""The restart path in the end-to-end section of scripts/report.py: the
raw restart loop's protocol, where a restart's time goes (the restart
trace), one launch step by step (`e2e/launch/*`), and the text a missed
restart target quotes from the same run.
"""
from __future__ import annotations

from report_model import Run, Table, fmt_ns


def raw_restart_protocol(run: Run, n: int) -> str:
    """How the run's `e2e/restart_latency/raw` killed and respawned: runs
    that also have `raw_single_child` used the like-for-like protocol."""
    if run.named("e2e/restart_latency/raw_single_child") is None:
        return "kill, poll the pidfd, reap, posix_spawn"
    return (f"of {n:,} long-running raw children, kill the one vitrine's "
            "fleet loses at the same step, poll its pidfd, reap, "
            "posix_spawn its replacement; both loops wait 20 ms between "
            "kills")


def e2e_hops_table(run: Run) -> Table | None:
    """When each hop of a restart was reached (VITRINE_RESTART_TRACE=1)."""
    b = run.named("e2e/restart_latency/hybrid")
    if b is None:
        return None
    hops = sorted(((k[3:-3], v) for k, v in b.counters.items()
                   if k.startswith("at_") and k.endswith("_us")),
                  key=lambda kv: kv[1])
    if not hops:
        return None
    rows, before = [], 0.0
    for name, at in hops:
        rows.append([name, fmt_ns(at * 1e3), fmt_ns((at - before) * 1e3)])
        before = at
    return Table("Where a restart's time goes (hybrid, medians)",
                 ["reached", "after the kill", "since the previous"], rows,
                 "restart_trace.hpp: the I/O thread sees the pidfd readable "
                 "(exit_seen), the process actor runs the exit message, "
                 "reaps, publishes and reports, the supervisor grants, the "
                 "actor spawns (launched: the new child has exec'd) and "
                 "publishes. Medians of each point taken separately.")


def e2e_restart_why(run: Run, n: int) -> dict[str, str]:
    """What the run measured about a restart's time, for a MISS."""
    hybrid = run.named("e2e/restart_latency/hybrid")
    raw = run.named("e2e/restart_latency/raw")
    at = {} if hybrid is None else {
        k[3:-3]: v * 1e3 for k, v in hybrid.counters.items()
        if k.startswith("at_") and k.endswith("_us")}
    def raw_ns(counter: str) -> float | None:
        x = None if raw is None else raw.counters.get(counter)
        return None if x is None else x * 1e3

    text = ("The raw loop in the same binary ("
            f"{raw_restart_protocol(run, n)}; until the new child has "
            f"exec'd) took {fmt_ns(raw_ns('p50_us'))} at the median and "
            f"{fmt_ns(raw_ns('p99_us'))} at p99. ")
    if {"exit_seen", "granted", "launched", "published"} <= at.keys():
        text += (
            "Where vitrine's time went in this run (medians of each point, "
            "table above): the I/O thread saw the exit "
            f"{fmt_ns(at['exit_seen'])} after the kill; the process actor "
            "reaped and reported, and the supervisor granted the restart at "
            f"{fmt_ns(at['granted'])}; the launch (clone3, exec of "
            "/bin/sleep until exec'd) ended at "
            f"{fmt_ns(at['launched'])} and the running state was published "
            f"at {fmt_ns(at['published'])}. Each step is a hand-off between "
            "threads (I/O thread, CAF workers, the observer) on "
            f"{run.machine_cores} cores; "
            "the run does not say how much of each step is waiting for a "
            "core.")
    else:
        text += ("This run has no hop times (VITRINE_RESTART_TRACE was not "
                 "set), so it does not say where the time went.")
    return {"hybrid": text,
            "messaging": ("The same restart path as hybrid (above); both "
                          "modes observe it by subscription, so they "
                          "differ only in the reads the path does not "
                          "depend on.")}


LAUNCH_STEPS = (
    ("raw_posix_spawn", "glibc posix_spawn (the floor)"),
    ("os_launch", "os::launch, the fleet's options"),
    ("os_launch_cgroup", "+ the program's cgroup (CLONE_INTO_CGROUP)"),
    ("os_launch_cgroup_guardian", "+ the guardian (the child marks its "
     "group)"),
)


def e2e_launch_table(run: Run) -> Table | None:
    """One launch of /bin/sleep until exec'd, adding one cost at a time."""
    rows, previous = [], None
    for name, what in LAUNCH_STEPS:
        b = run.named(f"e2e/launch/{name}")
        if b is None:
            continue
        p50 = b.counters.get("p50_us")
        p99 = b.counters.get("p99_us")
        added = (None if p50 is None or previous is None
                 or name == "os_launch" else (p50 - previous) * 1e3)
        rows.append([what, fmt_ns(None if p50 is None else p50 * 1e3),
                     fmt_ns(None if p99 is None else p99 * 1e3),
                     "" if added is None else
                     ("+" if added >= 0 else "-") + fmt_ns(abs(added))])
        previous = p50
    if not rows:
        return None
    return Table("One launch, step by step (medians of the repetitions)",
                 ["launch of `/bin/sleep` until exec'd", "p50", "p99",
                  "p50 added by the step"], rows,
                 "`e2e/launch/*`, same binary and run: 200 launches per "
                 "repetition, one child alive at a time (killed and reaped "
                 "untimed), on the benchmark's thread, beside the fleets. "
                 "The restart trace's `launched` step (from "
                 "grant_received to the new child exec'd) holds one such "
                 "launch, with a cgroup and the guardian, and the process "
                 "actor's own work around it.")
