"""The poller's schedule and the health line it shows, driven by a frozen clock."""

from __future__ import annotations

import pytest

from oncall_tui.alerts.poller import Poller, State


@pytest.fixture
def poller() -> Poller:
    return Poller(5)


def test_first_poll_is_due_at_once_and_never_overlaps(poller, clock):
    assert poller.due(clock.now())
    assert poller.health.describe(clock.now()) == "AM connecting…"
    poller.started(clock.now())
    assert not poller.due(clock.now())
    clock.advance(seconds=30)
    assert not poller.due(clock.now())  # still in flight, however long it takes


def test_success_polls_again_after_the_interval_and_shows_its_age(poller, clock):
    poller.started(clock.now())
    poller.succeeded(clock.now(), alerts=3)
    assert poller.health.state is State.OK and poller.health.alerts == 3
    clock.advance(seconds=2)
    assert poller.health.describe(clock.now()) == "AM ok 2s"
    assert not poller.due(clock.now()) and poller.seconds_until_due(clock.now()) == 3
    clock.advance(seconds=3)
    assert poller.due(clock.now())


def test_failures_back_off_doubling_to_a_minute_and_success_resets(poller, clock):
    waits = []
    for _ in range(6):
        poller.started(clock.now())
        poller.failed(clock.now(), "connection refused")
        waits.append(poller.seconds_until_due(clock.now()))
        clock.advance(seconds=waits[-1])
    assert waits == [10, 20, 40, 60, 60, 60]
    assert poller.health.failures == 6

    poller.started(clock.now())
    assert poller.health.describe(clock.now()) == "AM down: connection refused (retrying…)"
    poller.succeeded(clock.now(), alerts=0)
    assert poller.health.failures == 0 and poller.health.error == ""
    assert poller.seconds_until_due(clock.now()) == 5


def test_down_line_counts_down_to_the_retry(poller, clock):
    poller.started(clock.now())
    poller.failed(clock.now(), "HTTP 502: Bad Gateway")
    clock.advance(seconds=3)
    assert poller.health.describe(clock.now()) == "AM down: HTTP 502: Bad Gateway (retry in 7s)"
    assert poller.health.describe(clock.now(), compact=True) == "AM down (retry in 7s)"


def test_a_long_interval_backs_off_no_faster_than_itself():
    slow = Poller(120)
    assert [slow.backoff(n) for n in (1, 2, 3)] == [120, 120, 120]


def test_poll_soon_jumps_the_queue_but_not_a_running_poll(poller, clock):
    poller.started(clock.now())
    poller.succeeded(clock.now(), alerts=0)
    poller.poll_soon()
    assert poller.due(clock.now())
    poller.started(clock.now())
    poller.poll_soon()  # an acknowledgement while a poll runs
    assert not poller.due(clock.now())
    poller.succeeded(clock.now(), alerts=0)
    assert poller.due(clock.now())  # …runs right after it


def test_a_skipped_poll_keeps_the_health_and_waits_the_interval(poller, clock):
    poller.started(clock.now())
    poller.succeeded(clock.now(), alerts=1)
    clock.advance(seconds=5)
    poller.started(clock.now())
    poller.skipped(clock.now())
    assert poller.health.state is State.OK and poller.seconds_until_due(clock.now()) == 5


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        Poller(0)
