#!/usr/bin/python3
"""Runs scripts/peers.py on 4 programs with short windows and checks what
it promises: it exits 0, every installed peer has its measurements (all 4
programs started, a restart seen, a graceful stop, the survivors counted),
`vitrine run` leaves no program behind when killed, nothing tagged by the
run is alive afterwards, its temporary directory is gone, and
scripts/report_peers.py renders the JSON. No timing is asserted."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def fail(msg: str) -> None:
    print(f"check_peers: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def tagged_alive(tag: str) -> list[int]:
    needle = f"VITRINE_PEERS_TAG={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        if (needle in env
                and state.split()[0] != "Z"):
            found.append(int(entry))
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--vitrine", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peers.json"
        tag = f"check-{os.getpid()}"
        cmd = [sys.executable, str(args.source / "scripts" / "peers.py"),
               "--out", str(out), "--reps", "1", "--idle", "0.5",
               "--settle", "0.2", "--restart", "3", "--restart-slow", "2",
               "--status-reps", "1", "--tag", tag,
               "--vitrine", args.vitrine or "/nonexistent/vitrine"]
        env = dict(os.environ, VITRINE_PEERS_N="4")
        rc = subprocess.run(cmd, env=env, timeout=240).returncode
        if rc != 0:
            fail(f"peers.py exited with status {rc}")
        data = json.loads(out.read_text())
        if data["processes"] != 4 or data["leftover_processes"] != 0:
            fail(f"processes {data['processes']}, leftovers "
                 f"{data['leftover_processes']}")
        measured = 0
        for key, entry in data["peers"].items():
            if entry["skipped"]:
                if "not installed" not in entry["skipped"] and \
                        "not built" not in entry["skipped"]:
                    fail(f"{key}: {entry['skipped']}")
                continue
            measured += 1
            med = entry["median"]
            for k in ("start_exec_s", "start_reported_s", "restart_p50_ms",
                      "stop_s", "pss_bytes", "idle_cpu_percent"):
                if med.get(k) is None:
                    fail(f"{key}: no {k}")
            if med["start_reported_s"] < med["start_exec_s"]:
                fail(f"{key}: status said all running before all exec'd")
            surv = entry["survivors"]
            if key == "vitrine_run" and surv["survivor_programs"] != 0:
                fail(f"vitrine run left {surv['survivor_programs']} programs")
            if key != "vitrine_run" and surv["survivor_programs"] != 4:
                fail(f"{key}: expected its 4 programs to outlive it, "
                     f"counted {surv['survivor_programs']}")
        if measured == 0:
            print("check_peers: no peer installed and no vitrine: only the "
                  "skip path was checked")
        sys.path.insert(0, str(args.source / "scripts"))
        import report_peers
        section = report_peers.render(out, Path(tmp) / "img", "img")
        if len(section["tables"]) != 3 or \
                len(section["tables"][0]["rows"]) != measured:
            fail("report_peers.render: unexpected tables")
    left = tagged_alive(tag)
    if left:
        fail(f"processes left behind: {left}")
    new_dirs = [d for base in (tempfile.gettempdir(), "/dev/shm")
                for d in Path(base).glob(f"vitrine-peers-{tag}-*")]
    if new_dirs:
        fail(f"temporary directories left: {sorted(new_dirs)}")
    print(f"check_peers: ok ({measured} peers measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
