"""SIGTERM, SIGINT and SIGHUP (the SSH session went away) end the board, dialog open or not.

Python's own SIGINT handling cancels asyncio's main task, which a handler awaiting a dialog could
swallow; here the app is asked to exit, and if it has not within EXIT_GRACE seconds (a worker thread
still waiting for a lock), the terminal is restored and the process ends. Nothing is lost either
way: every change is committed when it is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading

from textual.app import App

# After a signal, how long the app has to exit on its own before the process ends anyway.
EXIT_GRACE = 0.7


def end_on_signals(app: App[int]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _signalled, app, sig)


def _signalled(app: App[int], sig: int) -> None:
    app.exit(return_code=128 + sig)
    timer = threading.Timer(EXIT_GRACE, _force_exit, args=(app, sig))
    timer.daemon = True
    timer.start()


# How long restoring the terminal may take before the process ends without it.
RESTORE_GRACE = 0.3


def _force_exit(app: App[int], sig: int) -> None:
    """Restore the terminal if it answers, then end. When the terminal is gone (SIGHUP from a
    closed tmux pane or SSH link) Textual's writer queue can be full with nobody draining it, and
    restoring would block forever: a desk left running, heartbeat and paging, deaf to every later
    signal because its event loop is stuck in the same queue. So the restore gets its own thread
    and a deadline, and the exit does not wait for it."""

    def restore() -> None:
        with contextlib.suppress(Exception):
            if app._driver is not None:
                app._driver.stop_application_mode()

    restoring = threading.Thread(target=restore, name="restore-terminal", daemon=True)
    restoring.start()
    restoring.join(RESTORE_GRACE)
    os._exit(128 + sig)
