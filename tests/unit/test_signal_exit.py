"""A desk whose terminal is gone still ends on a signal: restoring the terminal never blocks the exit."""

from __future__ import annotations

import subprocess
import sys
import time

SCRIPT = """
import signal, threading
from oncall_tui.ui import signals

class Driver:
    def stop_application_mode(self):
        threading.Event().wait()  # a terminal nobody drains: Textual's writer queue full for ever

class App:
    _driver = Driver()

signals._force_exit(App(), signal.SIGHUP)
"""


def test_a_signal_ends_the_desk_even_when_restoring_the_terminal_would_block():
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 128 + 1, proc.stderr  # 128 + SIGHUP
    assert time.monotonic() - started < 10
