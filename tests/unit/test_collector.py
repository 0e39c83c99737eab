"""Full garbage collections run at quiet moments, not in the middle of typing (ui/collector.py)."""

from __future__ import annotations

import gc

from oncall_tui.ui.collector import AT_THE_LATEST_SECONDS, EVERY_SECONDS, QUIET_SECONDS, Collector


class Steady:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_full_pass_waits_for_a_quiet_moment_then_runs_once_a_minute():
    clock = Steady()
    collector = Collector(clock)
    clock.t += EVERY_SECONDS
    collector.key()
    assert not collector.due()  # a key just now: not in the middle of typing
    clock.t += QUIET_SECONDS
    assert collector.due()
    assert collector.tick() and not collector.due()  # and not again for a minute
    clock.t += EVERY_SECONDS - 1
    assert not collector.due()


def test_keys_that_never_stop_only_delay_it():
    clock = Steady()
    collector = Collector(clock)
    for _ in range(int(AT_THE_LATEST_SECONDS)):
        clock.t += 1
        collector.key()
        if collector.due():
            break
    assert clock.t - 1000.0 == AT_THE_LATEST_SECONDS


def test_the_app_takes_over_full_passes_and_gives_them_back():
    before = gc.get_threshold()
    collector = Collector()
    collector.start()
    try:
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10**6
    finally:
        collector.stop()
        gc.unfreeze()
    assert gc.get_threshold() == before and gc.isenabled()
