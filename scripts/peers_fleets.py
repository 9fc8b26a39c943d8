#!/usr/bin/python3
"""The supervisors scripts/peers.py measures, each set up at its best for
N `/bin/sleep 1000000` programs in a directory of its own: its files, its
command line, how its own status says "all running", and how its status of
one program and of all is read with its native tools. Standard library
only; called from peers.py's single thread."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import subprocess
import time
import xmlrpc.client
from pathlib import Path

from peers_proc import Tree, last_pid

SLEEP_ARGV = ["/bin/sleep", "1000000"]
now = time.monotonic


def name_of(i: int) -> str:
    return f"p{i:05d}"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):  # noqa: ARG002 (the socket is fixed)
        return UnixHTTPConnection(self.unix_path)


class Peer:
    """One supervisor set up for N sleeps in directory `d`."""

    key = ""
    label = ""
    how = ""

    def __init__(self, n: int, d: Path, env: dict[str, str]):
        self.n, self.d, self.env = n, d, env
        self.proc: subprocess.Popen | None = None
        self.tree: Tree | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        since = last_pid()
        self.launched = now()
        self.proc = subprocess.Popen(
            self.command(), cwd=self.d, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.tree = Tree(self.proc.pid, since)

    def all_running(self) -> bool:
        """The supervisor's own view: all N running (ready if it tracks
        readiness)."""
        raise NotImplementedError

    def status_samples(self, reps: int) -> dict[str, list[float]]:
        return {}


class Supervisord(Peer):
    key = "supervisord"
    label = "supervisord"
    how = ("supervisord 4 (Debian), nodaemon, one [program:x] per sleep with "
           "startsecs=0, autorestart=true, stopwaitsecs=2, "
           "stdout_logfile=NONE and stderr_logfile=NONE (no log files), its "
           "own log to /dev/null at loglevel=error, all programs in one "
           "[group:fleet] (stopped at once, not group by group); status "
           "over its XML-RPC unix socket (the interface supervisorctl "
           "uses)")

    def prepare(self) -> None:
        sock = self.d / "sock"
        lines = [
            "[supervisord]", "nodaemon=true", "logfile=/dev/null",
            "logfile_maxbytes=0", "loglevel=error",
            f"pidfile={self.d}/supervisord.pid", f"childlogdir={self.d}",
            f"minfds={4 * self.n + 256}", "",
            "[unix_http_server]", f"file={sock}", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{sock}", ""]
        for i in range(self.n):
            lines += [f"[program:{name_of(i)}]",
                      "command=" + " ".join(SLEEP_ARGV), "startsecs=0",
                      "autorestart=true", "stopwaitsecs=2",
                      "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
        # One group: supervisord stops groups one after the other, each
        # waiting for a turn of its 1 s main loop; in one group the stop
        # signals all go out at once.
        lines += ["[group:fleet]",
                  "programs=" + ",".join(name_of(i) for i in range(self.n)),
                  ""]
        self.conf = self.d / "supervisord.conf"
        self.conf.write_text("\n".join(lines))
        self.rpc = xmlrpc.client.ServerProxy(
            "http://localhost", transport=UnixTransport(str(sock)))

    def command(self) -> list[str]:
        return ["/usr/bin/supervisord", "-c", str(self.conf)]

    def all_running(self) -> bool:
        try:
            infos = self.rpc.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            return False
        return (len(infos) == self.n
                and all(i["statename"] == "RUNNING" for i in infos))

    def status_samples(self, reps: int) -> dict[str, list[float]]:
        ctl = ["/usr/bin/supervisorctl", "-c", str(self.conf), "status"]
        one = "fleet:" + name_of(self.n // 2)
        return {
            "one_api": timed(lambda: self.rpc.supervisor.getProcessInfo(
                one), 10 * reps),
            "all_api": timed(self.rpc.supervisor.getAllProcessInfo, reps),
            "one_cli": timed(lambda: run_quiet(ctl + [one]), reps),
            "all_cli": timed(lambda: run_quiet(ctl), reps),
        }


S6_FLAG_WANTUP, S6_FLAG_READY = 0x04, 0x08


class S6(Peer):
    key = "s6"
    label = "s6"
    notify = False
    how = ("s6 2.11 (Debian), s6-svscan -c N+16 on a scan directory of N "
           "service directories whose run script is `#!/bin/sh` + "
           "`exec /bin/sleep 1000000`, not execline (issue 14 reports that "
           "Debian's /usr/bin/execlineb, a wrapper script, doubles s6's "
           "start time; not re-measured here); stdout/stderr to "
           "/dev/null; no notification-fd, so s6-supervise waits 1 s "
           "before each restart")

    def prepare(self) -> None:
        self.scan = self.d / "scan"
        self.services = []
        for i in range(self.n):
            sd = self.scan / name_of(i)
            sd.mkdir(parents=True)
            body = "#!/bin/sh\n"
            if self.notify:
                (sd / "notification-fd").write_text("3\n")
                body += "echo >&3\n"
            body += "exec " + " ".join(SLEEP_ARGV) + "\n"
            (sd / "run").write_text(body)
            (sd / "run").chmod(0o755)
            self.services.append(sd)

    def command(self) -> list[str]:
        return ["/usr/bin/s6-svscan", "-c", str(self.n + 16), str(self.scan)]

    def read_status(self, sd: Path) -> tuple[int, int] | None:
        """(pid, flags) from s6-supervise's 35-byte status file: two TAI64N
        stamps, the pid (u64 big-endian), wstat (u16), flags (u8)."""
        try:
            data = (sd / "supervise" / "status").read_bytes()
        except OSError:
            return None
        if len(data) < 35:
            return None
        return struct.unpack(">Q", data[24:32])[0], data[34]

    def _up(self, st: tuple[int, int] | None) -> bool:
        if st is None or st[0] == 0:
            return False
        return not self.notify or bool(st[1] & S6_FLAG_READY)

    def all_running(self) -> bool:
        return all(self._up(self.read_status(sd)) for sd in self.services)

    def status_samples(self, reps: int) -> dict[str, list[float]]:
        one = self.services[self.n // 2]
        loop = ["/bin/sh", "-c", 'for d in "$0"/*; do /usr/bin/s6-svstat '
                '"$d"; done', str(self.scan)]
        return {
            "one_cli": timed(lambda: run_quiet(
                ["/usr/bin/s6-svstat", str(one)]), 10 * reps),
            "all_cli": timed(lambda: run_quiet(loop), reps),
            "one_direct": timed(lambda: self.read_status(one), 100 * reps),
            "all_direct": timed(lambda: [self.read_status(sd)
                                         for sd in self.services], reps),
        }


class S6Notify(S6):
    key = "s6_notify"
    label = "s6 + notification-fd"
    notify = True
    how = ("as s6, plus a notification-fd file (3) and `echo >&3` in the "
           "run script just before the exec: s6-supervise then restarts at "
           "once when the service was ready for at least 1 s")


class VitrineRun(Peer):
    key = "vitrine_run"
    label = "vitrine run"
    exe = ""
    how = ("`vitrine run FILE --plain --json-status PATH` (Release build), "
           "[supervisor] parallel_start = true, intensity 1000000, one "
           "[[program]] per sleep with startsecs_ms = 0, backoff min_ms = 0 "
           "and jitter 0, restart_limit interval_ms = 0, stop_timeout_ms = "
           "2000, stdout/stderr \"null\": the settings of the end-to-end "
           "benchmark's fleet; `vitrine status [NAME]` reads the shared-memory "
           "status table, \"read directly\" parses the --json-status file")

    def prepare(self) -> None:
        lines = ["[supervisor]", 'name = "fleet"', "parallel_start = true",
                 "intensity = 1000000", "period_ms = 1000", ""]
        argv = ", ".join(f'"{a}"' for a in SLEEP_ARGV)
        for i in range(self.n):
            lines += ["[[program]]", f'name = "{name_of(i)}"',
                      f"command = [{argv}]", "startsecs_ms = 0",
                      "stop_timeout_ms = 2000",
                      "backoff = { min_ms = 0, jitter = 0.0 }",
                      "restart_limit = { burst = 5, interval_ms = 0 }",
                      'stdout = "null"', 'stderr = "null"', ""]
        self.conf = self.d / "fleet.toml"
        self.conf.write_text("\n".join(lines))
        self.status_path = self.d / "status.json"
        # A per-instance state directory, if this build makes one, goes
        # under $XDG_RUNTIME_DIR: keep it inside this run's directory.
        self.env = dict(self.env, XDG_RUNTIME_DIR=str(self.d))

    def command(self) -> list[str]:
        return [self.exe, "run", str(self.conf), "--plain",
                "--json-status", str(self.status_path)]

    def read_json(self) -> dict | None:
        try:
            data = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else {"processes": data}

    def all_running(self) -> bool:
        data = self.read_json()
        if data is None:
            return False
        procs = data.get("processes", [])
        return (len(procs) == self.n
                and all(p.get("status") == "running" for p in procs))

    def status_samples(self, reps: int) -> dict[str, list[float]]:
        # `vitrine status` reads the run's shared-memory status table in
        # its state directory ($XDG_RUNTIME_DIR/vitrine/<top name>).
        state = ["--state-dir", str(self.d / "vitrine" / "fleet")]
        all_cli = [self.exe, "status", *state]
        one_cli = [self.exe, "status", name_of(self.n // 2), *state]
        return {
            "one_cli": timed(lambda: run_quiet(one_cli, self.env), reps),
            "all_cli": timed(lambda: run_quiet(all_cli, self.env), reps),
            "all_direct": timed(self.read_json, reps),
        }


PEERS = [Supervisord, S6, S6Notify, VitrineRun]


def run_quiet(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env, check=True)


def timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = now()
        fn()
        out.append(now() - t)
    return out


