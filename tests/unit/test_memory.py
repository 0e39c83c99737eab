"""The desk hands back what its startup freed, rather than sitting on it all day."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from oncall_tui.memory import release_freed


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim, /proc")
def test_memory_freed_outside_pythons_allocator_goes_back_to_the_system() -> None:
    # 40 MB in blocks too large for Python's own allocator, then one kept past them, so what is
    # freed lies below the top of the heap, where free() alone returns nothing.
    blocks = [bytearray(4000) for _ in range(10_000)]
    kept = bytearray(4000)
    del blocks
    before = _rss_kb()
    release_freed()
    assert _rss_kb() < before - 20_000
    release_freed()  # again, with nothing to give: harmless
    del kept
