"""How scripts/peers.py measures a supervisor from outside: until its N
programs have exec'd, one restart after a SIGKILL (a new child of the same
parent that runs sleep), and the end of its whole tree. Linux only,
standard library only. Called from peers.py's single thread."""

from __future__ import annotations

import os
import signal
import statistics
import time

from peers_fleets import Peer
from peers_proc import PID_MAX, last_pid, log, proc_stat, wait_until

now = time.monotonic


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


# -- measurements ---------------------------------------------------------------


def wait_all_execd(peer: Peer, timeout: float,
                   sample: dict) -> float | None:
    """Seconds from launch until N members have exec'd /bin/sleep (and in
    sample["first_exec_s"], until the first one had)."""
    tree, t0 = peer.tree, peer.launched
    confirmed: set[int] = set()
    parents: set[int] = set()
    progress = (0, now())  # (count, when it last grew)
    while now() - t0 < timeout:
        tree.update()
        if now() - progress[1] > 1.0:
            tree.rescan()  # nothing new for a second: look at all of /proc
            progress = (progress[0], now())
        for pid in tree.members - confirmed - parents:
            st = proc_stat(pid)
            if st is None:
                continue
            if pid != tree.root:
                parents.add(st[0])  # a parent never becomes a program
            if st[1] == "sleep" and st[2] != "Z":
                confirmed.add(pid)
        confirmed -= parents
        if confirmed and "first_exec_s" not in sample:
            sample["first_exec_s"] = now() - t0
        if len(confirmed) >= peer.n:
            return now() - t0
        if len(confirmed) > progress[0]:
            progress = (len(confirmed), now())
        if peer.proc.poll() is not None:
            break
        time.sleep(0.01)
    log(f"{peer.key}: {len(confirmed)} of {peer.n} programs had exec'd when "
        f"it gave up after {now() - t0:.0f} s")
    return None


def restart_once(victim: int, parent: int,
                 timeout: float = 5.0) -> float | None:
    """SIGKILL `victim`; seconds until a new child of `parent` runs sleep."""
    base = last_pid()
    t0 = now()
    os.kill(victim, signal.SIGKILL)
    cursor, pending = base, []
    while now() - t0 < timeout:
        upto = last_pid()
        fresh = (list(range(cursor + 1, upto + 1)) if upto >= cursor else
                 list(range(cursor + 1, PID_MAX)) + list(range(1, upto + 1)))
        cursor = upto
        keep = []
        for pid in pending + fresh:
            st = proc_stat(pid)
            if st is None:
                keep.append(pid)  # allocated, maybe not visible yet (or
                continue          # gone: then dropped with the sample)
            if st[0] != parent:
                continue
            if st[1] == "sleep" and st[2] != "Z":
                return now() - t0
            keep.append(pid)  # forked, not exec'd yet
        pending = keep
        time.sleep(0.0002)
    return None


def measure_restarts(peer: Peer, samples: int, slow: int) -> list[float]:
    """Up to `samples` restarts, each of a different program; only `slow`
    of them when the first ones take over 0.2 s (a supervisor that waits
    a second before restarting shows that in a few samples)."""
    peer.tree.update()
    progs = peer.tree.programs()
    out: list[float] = []
    for v in sorted(progs)[:samples]:
        if len(out) >= slow and median(out) > 0.2:
            break
        dt = restart_once(v, progs[v])
        if dt is None:
            log(f"{peer.key}: no restart seen within 5 s of killing {v}")
        else:
            out.append(dt)
    peer.tree.update()
    return out


def gone(peer: Peer, pids: list[int]) -> bool:
    peer.tree.reap()
    for pid in pids:
        st = proc_stat(pid)
        if st is not None and st[2] != "Z":
            return False
    return peer.proc.poll() is not None


def kill_tree(peer: Peer) -> None:
    """SIGKILL every live member (the root's session too) and reap."""
    if peer.proc is None:
        return
    try:
        os.killpg(peer.proc.pid, signal.SIGKILL)
    except OSError:
        pass
    for _ in range(3):
        peer.tree.update()
        peer.tree.rescan()
        alive = list(peer.tree.alive())
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        peer.proc.poll()
        wait_until(lambda: gone(peer, alive), 10)
    peer.proc.wait()
    peer.tree.reap()
