"""Loaded (through PYTHONPATH) only by `.ci/run`'s pass with the clock 400 days ahead.

libfaketime 0.9.10 (Debian's) cannot leave the monotonic clock real and still fake Python's
`time.sleep`: CPython sleeps with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`, which the
library shifts by the wall clock's offset and the kernel refuses (EINVAL). Faking the monotonic
clock instead hangs every lock or event wait with a timeout (`sem_clockwait` is not intercepted and
waits 400 days). So: real monotonic clock, and sleep through `select`, whose timeout is relative.
Child processes (the CLI run by the tests) inherit PYTHONPATH and get the same.
"""

import os

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    import select
    import time

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)

    time.sleep = _sleep
