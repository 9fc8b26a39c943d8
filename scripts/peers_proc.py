#!/usr/bin/python3
"""What scripts/peers.py reads from /proc: the processes of a supervisor's
tree (found from newly allocated pids, without asking the supervisor), their
memory and CPU time, and a scan for a run's environment tag. Linux only,
standard library only. Called from peers.py's single thread."""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

TAG_VAR = "VITRINE_PEERS_TAG"
CLK_TCK = os.sysconf("SC_CLK_TCK")
now = time.monotonic


def log(msg: str) -> None:
    print(f"peers: {msg}", flush=True)


def proc_stat(pid: int) -> tuple[int, str, str, int] | None:
    """(ppid, comm, state, utime + stime ticks) or None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    rest = data[rp + 2:].split()
    return int(rest[1]), data[lp + 1:rp], rest[0], int(rest[11]) + int(rest[12])


def last_pid() -> int:
    with open("/proc/loadavg") as f:
        return int(f.read().split()[4])


PID_MAX = int(Path("/proc/sys/kernel/pid_max").read_text())


class Tree:
    """The processes descended from one root, found from the pids allocated
    since the root started (parents are allocated before their children)."""

    def __init__(self, root: int, since: int):
        self.root = root
        self.members = {root}
        self.comm: dict[int, str] = {}
        self.cursor = since  # pids up to here were looked at
        # pid -> when first missing: a pid is allocated before its process
        # shows in /proc, so a missing one is looked at again for a while.
        self.unresolved: dict[int, float] = {}

    def _pids_since(self, upto: int) -> list[int]:
        c = self.cursor
        if upto >= c:
            return list(range(c + 1, upto + 1))
        return list(range(c + 1, PID_MAX)) + list(range(1, upto + 1))

    def update(self) -> None:
        upto = last_pid()
        t = now()
        retry = [p for p, t0 in self.unresolved.items() if t - t0 < 5.0]
        self.unresolved = {p: self.unresolved[p] for p in retry}
        for pid in retry + self._pids_since(upto):
            st = proc_stat(pid)
            if st is None:
                self.unresolved.setdefault(pid, t)
                continue
            self.unresolved.pop(pid, None)
            if st[0] in self.members:
                self.members.add(pid)
        self.cursor = upto

    def rescan(self) -> None:
        """Add every live process descended from a member, from a full
        scan of /proc (the fallback when update() may have missed one)."""
        parent = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = proc_stat(int(entry))
                if st is not None:
                    parent[int(entry)] = st[0]
        grown = True
        while grown:
            grown = False
            for pid, ppid in parent.items():
                if ppid in self.members and pid not in self.members:
                    self.members.add(pid)
                    grown = True

    def programs(self) -> dict[int, int]:
        """Live members running /bin/sleep (exec'd): pid -> parent pid."""
        out = {}
        for pid in self.members:
            st = proc_stat(pid)
            if st is not None and st[1] == "sleep" and st[2] != "Z":
                out[pid] = st[0]
        return out

    def alive(self) -> dict[int, str]:
        """Live (not zombie) members: pid -> comm."""
        out = {}
        for pid in self.members:
            st = proc_stat(pid)
            if st is not None and st[2] != "Z":
                out[pid] = st[1]
        return out

    def helpers(self) -> list[int]:
        """The supervisor's own live processes (everything but programs)."""
        return [p for p, c in self.alive().items() if c != "sleep"]

    def reap(self) -> None:
        """Reap members that became our children (we are a subreaper)."""
        for pid in list(self.members):
            if pid == self.root:
                continue
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def make_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("warning: prctl(PR_SET_CHILD_SUBREAPER) failed; orphans of a "
            "killed supervisor go to init")


def memory_of(pids: list[int]) -> tuple[int, int]:
    """Sum of RSS and PSS in bytes (smaps_rollup)."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key == "Rss":
                rss += int(rest.split()[0]) * 1024
            elif key == "Pss":
                pss += int(rest.split()[0]) * 1024
    return rss, pss


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        st = proc_stat(pid)
        if st is not None:
            total += st[3]
    return total


def cpu_ns_and_wakeups(pids: list[int]) -> tuple[int, int]:
    """CPU time in ns (schedstat, every thread) and context switches (each
    is a sleep ended: a wake-up) of these processes so far. Tick counts
    (utime + stime) are too coarse for an idle window: one 10 ms tick over
    10 s is 0.1 %, the goal itself."""
    ns = switches = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            base = f"/proc/{pid}/task/{tid}"
            try:
                with open(f"{base}/schedstat") as f:
                    ns += int(f.read().split()[0])
                with open(f"{base}/status") as f:
                    for line in f:
                        if "ctxt_switches" in line:  # voluntary_, non
                            switches += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return ns, switches


def tagged_processes(tag: str) -> list[int]:
    """Every live process whose environment carries this run's tag."""
    needle = f"{TAG_VAR}={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    st = proc_stat(int(entry))
                    if st is not None and st[2] != "Z":
                        found.append(int(entry))
        except OSError:
            pass
    return found


def wait_until(pred, timeout: float, step: float = 0.002) -> bool:
    deadline = now() + timeout
    while now() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


