"""Background work gives way while the screen answers a key (oncall_tui/foreground.py)."""

from __future__ import annotations

import threading
import time

from oncall_tui.foreground import Foreground, breather


def took(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def test_a_worker_waits_while_the_screen_answers_a_key_and_goes_on_once_it_has():
    screen = Foreground()
    breathe = breather(foreground=screen, longest_wait=2.0)
    screen.busy()
    threading.Timer(0.05, screen.quiet).start()
    assert 0.04 < took(breathe) < 1.5


def test_a_key_held_down_slows_a_worker_without_stopping_it():
    screen = Foreground()
    screen.busy()  # and never quiet
    breathe = breather(foreground=screen, longest_wait=0.05)
    assert took(breathe) < 1.0


def test_while_the_screen_is_quiet_a_worker_lets_the_gil_go_only_after_a_slice_of_work():
    screen = Foreground()
    breathe = breather(0.02, foreground=screen)
    assert took(breathe) < 0.01  # straight after starting: no pause
    time.sleep(0.03)  # a slice of "work"
    assert took(breathe) >= 0.015  # then as long asleep
