"""A statement that never ends by itself, run on a worker's own connection and stopped from another
thread (`Record.interrupt`), as the desk does with its startup check when it closes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def interrupt_a_running_statement(
    open_record: Callable[[], Any], run_forever: Callable[[Any], object], errors: type[BaseException]
) -> tuple[list[BaseException], float]:
    """(what the statement raised, seconds from `interrupt` to the worker's end). The record is
    opened in the worker (a connection belongs to its thread), interrupted from here once its
    statement is under way, and interrupted once more after it is closed (which must do nothing)."""
    opened: list[Any] = []
    raised: list[BaseException] = []
    running = threading.Event()

    def worker() -> None:
        record = open_record()
        opened.append(record)
        running.set()
        try:
            run_forever(record)
        except errors as exc:
            raised.append(exc)
        finally:
            record.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert running.wait(10)
    time.sleep(0.2)  # the statement is under way
    began = time.monotonic()
    opened[0].interrupt()
    thread.join(10)
    took = time.monotonic() - began
    assert not thread.is_alive()
    opened[0].interrupt()  # closed by now: nothing to stop, nothing raised
    return raised, took
