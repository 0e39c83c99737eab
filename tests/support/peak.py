"""A command's own peak memory. Linux carries a process's high-water mark across exec, so a child
forked straight from a big process (pytest, a benchmark that has walked a million events) reports
its parent's peak when that is higher: a small Python in between forks the command instead."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_BETWEEN = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(
    command: Sequence[str], *, env: dict[str, str], keep_output: bool = True, timeout: float = 300
) -> tuple[int, bytes, bytes, float, float]:
    """(exit status, stdout, stderr, wall seconds, peak RSS in MB) of `command` (its first item an
    absolute path); without `keep_output` its stdout is thrown away (b"")."""
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "figures"
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-c", _BETWEEN, str(figures), *command],
            stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env=env,
        )
        took = time.perf_counter() - started
        status, peak_kb = (int(n) for n in figures.read_text().split())
    return status, run.stdout or b"", run.stderr, took, peak_kb / 1024
