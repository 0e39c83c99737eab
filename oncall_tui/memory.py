"""Handing memory that was freed back to the system, where the C library allows it."""

from __future__ import annotations

import sys
from functools import cache


@cache
def _trim():  # type: ignore[no-untyped-def]
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here, not at startup: the first frame does not wait for it

    try:  # the process's own symbols: no library search (find_library runs ldconfig, ~50 ms)
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None


def release_freed() -> None:
    """Give the pages free()d since start back to the system (glibc's `malloc_trim`).

    A board's first read and first look at 10k allocate and free several MB outside Python's own
    allocator (SQLite's buffers, the read's temporary lists, the workers' thread arenas); glibc keeps
    them for reuse, so the desk would sit some 7 MB above what it holds for the rest of the day.
    Once, after the startup work: trimming takes a few ms.
    """
    trim = _trim()
    if trim is not None:
        trim(0)
