"""Handing memory that was freed back to the system, where the C library allows it."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache


@cache
def _trim():  # type: ignore[no-untyped-def]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
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
