"""Background work gives way while the screen answers a key (oncall_tui/foreground.py)."""

from __future__ import annotations

import threading
import time

from oncall_tui.foreground import Foreground, breather


def took(fn) -> float:
    """Seconds `fn` took in a worker thread (on the main thread a breather does nothing)."""
    spent: list[float] = []

    def run() -> None:
        started = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - started)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return spent[0]


def test_a_worker_waits_while_the_screen_answers_a_key_and_goes_on_once_it_has():
    screen = Foreground()
    breathe = breather(foreground=screen, longest_wait=2.0)
    screen.busy()
    ended: list[float] = []

    def work() -> None:
        breathe()
        ended.append(time.perf_counter())

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.05)  # the key being answered (no timer thread: their waits drift under faketime)
    quiet_at = time.perf_counter()
    screen.quiet()
    worker.join(timeout=5)
    assert ended and ended[0] >= quiet_at  # it went on once the screen was quiet, not before


def test_a_key_held_down_slows_a_worker_without_stopping_it():
    screen = Foreground()
    screen.busy()  # and never quiet
    breathe = breather(foreground=screen, longest_wait=0.05)
    assert took(breathe) < 1.0


def test_while_the_screen_is_quiet_a_worker_lets_the_gil_go_only_after_a_slice_of_work():
    # Before a slice of work is done: no pause (the slice is long, so a loaded machine's delay in
    # starting the worker thread cannot use it up; a pause would last the slice again).
    assert took(breather(2.0, foreground=Foreground())) < 1.0
    breathe = breather(0.02, foreground=Foreground())
    time.sleep(0.03)  # a slice of "work"
    assert took(breathe) >= 0.015  # then as long asleep


def test_on_the_main_thread_it_never_waits():
    screen = Foreground()
    screen.busy()
    breathe = breather(0.0, foreground=screen, longest_wait=5.0)
    started = time.perf_counter()
    breathe()
    assert time.perf_counter() - started < 0.5


def test_a_screen_that_never_says_it_is_done_holds_nobody_up_for_long():
    screen = Foreground(longest_busy=0.05)
    screen.busy()
    assert screen.is_busy
    time.sleep(0.06)
    assert not screen.is_busy
    assert took(breather(foreground=screen, longest_wait=5.0)) < 0.5


def test_a_rest_may_be_longer_than_the_slice_of_work():
    """The startup check works 3 ms and rests 6: a third of a core, however long the walk."""
    breathe = breather(0.01, rest_seconds=0.04, foreground=Foreground())

    def slice_then_breathe() -> None:
        time.sleep(0.02)  # a slice of "work"
        breathe()

    assert took(slice_then_breathe) >= 0.055


def test_a_loop_asked_to_stop_hears_it_at_its_next_breath():
    asked: list[bool] = []

    def should_stop() -> bool:
        asked.append(True)
        return True

    screen = Foreground()
    breathe = breather(0.0, should_stop=should_stop, foreground=screen)
    results: list[bool] = []
    took(lambda: results.append(breathe()))
    assert results == [True] and len(asked) == 1

    # While the screen answers a key, the loop waits; asked once the wait is over.
    screen.busy()
    took(lambda: results.append(breathe()))
    screen.quiet()
    assert results == [True, True] and len(asked) == 2

    # Before a slice of work is done there is no breath, and nothing to ask.
    patient = breather(60.0, should_stop=should_stop, foreground=Foreground())
    took(lambda: results.append(patient()))
    assert results[-1] is False and len(asked) == 2


def test_on_the_main_thread_a_stop_is_still_heard_after_each_slice():
    breathe = breather(0.0, rest_seconds=5.0, should_stop=lambda: True, foreground=Foreground())
    started = time.perf_counter()
    assert breathe() is True
    assert time.perf_counter() - started < 2.5  # without its 5 s rest: there is no screen to give way to
    assert breather(60.0, should_stop=lambda: True, foreground=Foreground())() is False
