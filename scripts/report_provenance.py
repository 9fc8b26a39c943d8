"""Where a committed result file came from, read from git.

Used by report.py and report_study.py for the data of a lent many-core
machine (results/device16/), which compare.sh does not rerun.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

# The files whose code a read benchmark measures.
READ_PATH = ["core/include/vitrine/core/hazard_pointer.hpp",
             "core/include/vitrine/core/publication_cell.hpp",
             "core/include/vitrine/core/detail"]


def device_staleness(data: Path) -> str:
    """Whether the read path changed after the commit that added `data`
    (read from git; "" outside a git checkout)."""
    def git(where: Path, *args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(where), *args],
                                  capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    data = data.resolve()
    added = git(data.parent, "log", "-1", "--format=%h", "--", data.name)
    root = git(data.parent, "rev-parse", "--show-toplevel")
    if not added or not root:
        return ""
    since = git(Path(root), "log", "--format=%h", f"{added}..HEAD", "--",
                *READ_PATH)
    changes = len(since.split()) if since else 0
    if changes == 0:
        return (f"The lent machine's data came with commit {added}; the "
                "read path has not changed since.")
    return (f"The lent machine's data came with commit {added}; the read "
            f"path changed in {changes} commits since, so its rows measure "
            "the older read (a rerun needs a many-core machine, which this "
            "run did not have).")
