#!/usr/bin/python3
"""Measure supervisord, s6 and `vitrine run` on the end-to-end workload.

    /usr/bin/python3 scripts/peers.py [--vitrine build/release/cli/vitrine]
        [--out results/peers.json] [--reps R] [--quick]

The workload is the one of bench/e2e_bench.cpp: N supervised
`/bin/sleep 1000000` (N = VITRINE_PEERS_N, else VITRINE_E2E_PROCESSES, else
1000), restarted at once when they die, output discarded. Each peer is set
up at its best (see PEERS below and docs/results.md, "Peers"), and measured
the same way from outside:

  start       launch the supervisor; time until all N children have exec'd
              /bin/sleep (seen in /proc) and until its own status reports
              all N running
  status      one program and all N, with the native tool (supervisorctl,
              XML-RPC, s6-svstat) and by reading the state directly
              (s6's status files, vitrine's --json-status file)
  memory      RSS and PSS of the supervisor's own processes (not the sleeps)
  idle        CPU time of the supervisor's processes over a quiet window
              (schedstat ns of every thread; ticks too coarse) and their
              wake-ups (context switches) per second
  restart     SIGKILL one child; time until its replacement has exec'd
  stop        SIGTERM to the supervisor; time until every process is gone
  survivors   SIGKILL the supervisor; processes of its tree still alive 1 s
              later (programs and helper processes), then cleaned up

Processes are found without asking the supervisor: every new pid (the last
allocated pid is in /proc/loadavg) whose parent is in the supervisor's tree
joins the tree. This script makes itself a child subreaper, so whatever a
killed supervisor leaves behind is re-parented here; at the end it kills
and reaps every process of every tree, and a scan of /proc for the run's
environment tag checks that nothing is left. Everything is written under
one temporary directory (under /dev/shm when writable), removed at the
end.

Standard library only (Debian's /usr/bin/python3). Writes the raw samples
and their medians as JSON; scripts/report_peers.py renders it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from peers_fleets import PEERS, Peer, Supervisord, VitrineRun
from peers_measure import (gone, kill_tree, measure_restarts, median,
                           wait_all_execd)
from peers_proc import (CLK_TCK, TAG_VAR, cpu_ns_and_wakeups, cpu_ticks, log,
                        make_subreaper, memory_of, tagged_processes,
                        wait_until)

now = time.monotonic


def one_run(cls, n: int, d: Path, env: dict[str, str], opts,
            ending: str) -> dict:
    """Start a fleet, measure, end it with `ending` ("stop" or "kill")."""
    d.mkdir(parents=True)
    peer = cls(n, d, env)
    peer.prepare()
    sample: dict = {}
    LIVE.append(peer)
    peer.start()
    try:
        t_exec = wait_all_execd(peer, 60 + n * 0.25, sample)
        if t_exec is None:
            raise RuntimeError(f"{cls.key}: the {n} programs did not all "
                               "start")
        sample["start_exec_s"] = t_exec
        t0 = peer.launched
        if not wait_until(peer.all_running, 30, step=0.01):
            raise RuntimeError(f"{cls.key}: status never showed all running")
        sample["start_reported_s"] = now() - t0
        if ending == "kill":
            time.sleep(0.5)
            peer.tree.update()
            peer.proc.kill()
            peer.proc.wait()
            time.sleep(1.0)
            peer.tree.update()
            peer.tree.rescan()
            peer.tree.reap()
            alive = peer.tree.alive()
            sample["survivor_programs"] = sum(c == "sleep"
                                              for c in alive.values())
            sample["survivor_helpers"] = sum(c != "sleep"
                                             for c in alive.values())
            return sample
        time.sleep(opts.settle)
        peer.tree.update()
        peer.tree.rescan()
        helpers = peer.tree.helpers()
        sample["helper_processes"] = len(helpers)
        sample["rss_bytes"], sample["pss_bytes"] = memory_of(helpers)
        before = cpu_ticks(helpers)
        ns_before, wakes_before = cpu_ns_and_wakeups(helpers)
        time.sleep(opts.idle)
        ns_after, wakes_after = cpu_ns_and_wakeups(helpers)
        sample["idle_cpu_percent"] = (100.0 * (ns_after - ns_before) / 1e9
                                      / opts.idle)
        sample["idle_cpu_percent_ticks"] = (100.0 * (cpu_ticks(helpers) - before)
                                            / CLK_TCK / opts.idle)
        sample["idle_wakeups_per_s"] = (wakes_after - wakes_before) / opts.idle
        for k, v in peer.status_samples(opts.status_reps).items():
            sample[f"status_{k}_ms"] = median([x * 1e3 for x in v])
        sample["restart_ms_all"] = [x * 1e3 for x in measure_restarts(
            peer, opts.restart, opts.restart_slow)]
        sample["restart_ms"] = median(sample["restart_ms_all"])
        peer.tree.update()
        peer.tree.rescan()
        members = list(peer.tree.alive())
        t0 = now()
        peer.proc.send_signal(signal.SIGTERM)
        if wait_until(lambda: gone(peer, members), 60):
            sample["stop_s"] = now() - t0
        else:
            log(f"{cls.key}: not everything stopped within 60 s of SIGTERM")
        return sample
    finally:
        kill_tree(peer)
        LIVE.remove(peer)


LIVE: list[Peer] = []


def measure_peer(cls, n: int, root: Path, env: dict[str, str],
                 opts) -> dict:
    runs, failures = [], []
    for r in range(opts.reps):
        t = now()
        try:
            runs.append(one_run(cls, n, root / f"{cls.key}-{r}", env, opts,
                                "stop"))
        except RuntimeError as e:  # keep the other repetitions
            failures.append(str(e))
            log(f"{cls.key}: repetition {r + 1}/{opts.reps} FAILED: {e}")
            continue
        log(f"{cls.key}: repetition {r + 1}/{opts.reps} in "
            f"{now() - t:.0f} s: " + ", ".join(
                f"{k} {v:.4g}" for k, v in runs[-1].items()
                if isinstance(v, (int, float))))
    if not runs:
        raise RuntimeError("; ".join(failures))
    try:
        kill = one_run(cls, n, root / f"{cls.key}-kill", env, opts, "kill")
        log(f"{cls.key}: after SIGKILL of the supervisor: "
            f"{kill['survivor_programs']} programs and "
            f"{kill['survivor_helpers']} helper processes survived")
    except RuntimeError as e:
        failures.append(f"survivors run: {e}")
        kill = {}
    keys = [k for k in runs[0] if not k.endswith("_all")]
    samples = {k: [r[k] for r in runs if r.get(k) is not None] for k in keys}
    samples["restart_ms_all"] = [x for r in runs
                                 for x in r.get("restart_ms_all", [])]
    med = {k: median(v) for k, v in samples.items() if k != "restart_ms_all"}
    restarts = sorted(samples["restart_ms_all"])
    if restarts:
        med["restart_p50_ms"] = median(restarts)
        med["restart_p99_ms"] = restarts[min(len(restarts) - 1,
                                             int(0.99 * len(restarts)))]
    return {"samples": samples, "median": med, "failures": failures,
            "survivors": {k: kill[k] for k in ("survivor_programs",
                                                "survivor_helpers")
                          if k in kill}}


def available(cls, vitrine: str) -> str | None:
    """None when the peer can run, else why not."""
    if cls is VitrineRun:
        if not os.access(vitrine, os.X_OK):
            return f"{vitrine} is not built"
        return None
    exe = "/usr/bin/supervisord" if cls is Supervisord else "/usr/bin/s6-svscan"
    if not os.access(exe, os.X_OK):
        pkg = "supervisor" if cls is Supervisord else "s6"
        return (f"{exe} is not installed (Debian package {pkg}; "
                "scripts/setup.sh --peers installs it)")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vitrine", default="build/release/cli/vitrine")
    parser.add_argument("--out", type=Path, default=Path("results/peers.json"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0,
                        help="idle CPU window, seconds")
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--restart", type=int, default=30,
                        help="restart samples per repetition")
    parser.add_argument("--restart-slow", type=int, default=5,
                        help="restart samples per repetition when they take "
                        "over 0.2 s each (supervisord, s6 without "
                        "notification-fd: ~1 s)")
    parser.add_argument("--status-reps", type=int, default=3)
    parser.add_argument("--tag", default=f"{os.getpid()}-{time.time_ns()}",
                        help="value of VITRINE_PEERS_TAG in the "
                        "supervisors' environment (the leftover scan)")
    parser.add_argument("--tmp", default="/dev/shm" if os.access(
        "/dev/shm", os.W_OK) else None,
                        help="where the temporary directory goes (default: "
                        "/dev/shm, a tmpfs, so that a busy disk does not "
                        "slow the supervisors' own file writes)")
    parser.add_argument("--only", action="append", default=[],
                        help="measure only this peer key (repeatable)")
    opts = parser.parse_args()
    n = int(os.environ.get("VITRINE_PEERS_N")
            or os.environ.get("VITRINE_E2E_PROCESSES") or 1000)
    vitrine = str(Path(opts.vitrine).resolve())
    VitrineRun.exe = vitrine

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    make_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + 15))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(128 + 1))
    tag = opts.tag
    env = dict(os.environ, **{TAG_VAR: tag})
    tmp = Path(tempfile.mkdtemp(prefix=f"vitrine-peers-{tag}-",
                                dir=opts.tmp))
    result = {"processes": n, "repetitions": opts.reps,
              "idle_window_s": opts.idle, "clk_tck": CLK_TCK,
              "restart_samples": opts.restart,
              "restart_samples_slow": opts.restart_slow,
              "cores": os.cpu_count(), "kernel": os.uname().release,
              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "loadavg_before": os.getloadavg()[0], "peers": {}}
    t_all = now()
    try:
        for i, cls in enumerate(PEERS):
            entry = {"label": cls.label, "how": cls.how, "skipped": None}
            result["peers"][cls.key] = entry
            if opts.only and cls.key not in opts.only:
                entry["skipped"] = "not selected (--only)"
                continue
            why = available(cls, vitrine)
            if why:
                entry["skipped"] = why
                log(f"[{i + 1}/{len(PEERS)}] {cls.key}: skipped: {why}")
                continue
            log(f"[{i + 1}/{len(PEERS)}] {cls.key}: {opts.reps} repetitions "
                f"of {n} programs (elapsed {now() - t_all:.0f} s)")
            try:
                entry.update(measure_peer(cls, n, tmp, env, opts))
            except RuntimeError as e:
                entry["skipped"] = f"failed: {e}"
                log(f"{cls.key}: FAILED: {e}")
    finally:
        for peer in list(LIVE):
            kill_tree(peer)
        left = tagged_processes(tag)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    result["loadavg_after"] = os.getloadavg()[0]
    result["seconds"] = round(now() - t_all, 1)
    result["leftover_processes"] = len(left)
    if left:
        log(f"WARNING: {len(left)} tagged processes were left and killed")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=1) + "\n")
    log(f"wrote {opts.out} in {result['seconds']} s; no process left behind"
        if not left else f"wrote {opts.out}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
