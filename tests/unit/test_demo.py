"""The demo reads naturally whenever it is started: every time in it is relative to the desk's now."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from oncall_tui import cli
from oncall_tui.clock import FrozenClock
from oncall_tui.demo import seed_demo
from oncall_tui.desk import Desk
from oncall_tui.verify import verify_store

_HHMM = re.compile(r"\b(\d{2}):(\d{2})\b")


def _today_at(text: str, now: datetime) -> datetime:
    """'04:30' in a note or ETA as the reader means it: the nearest such time of day to `now`."""
    hour, minute = map(int, _HHMM.search(text).groups())
    local = now.astimezone()
    candidates = [
        local.replace(hour=hour, minute=minute, second=0, microsecond=0) + timedelta(days=d) for d in (-1, 0, 1)
    ]
    return min(candidates, key=lambda c: abs(c - local))


# Three starts: the fixtures' night, a different time of day, and a year and more later.
STARTS = ["2026-11-27T03:00:00Z", "2026-11-27T14:07:00Z", "2028-01-02T23:50:00Z"]


@pytest.mark.parametrize("start", STARTS)
def test_every_time_in_the_demo_fits_when_it_was_started(start, db_path, policy):
    clock = FrozenClock(start)
    desk = Desk.open(db_path, policy=policy, clock=clock)
    seed_demo(desk)
    now = clock.now()
    everything = []
    for inc in desk.incidents(include_closed=True):
        assert inc.started_at <= inc.declared_at <= now
        events = desk.timeline(inc.number)
        assert all(e.at <= now for e in events), inc.id
        if inc.next_update_at is not None and inc.is_open:
            assert inc.next_update_at > now, f"{inc.id}'s promised update is already past"
        if inc.eta:
            eta = _today_at(inc.eta, now)
            assert now < eta < now + timedelta(hours=2), f"{inc.id}'s ETA {inc.eta} is not ahead of {now}"
        for e in events:
            text = str(e.details.get("text", ""))
            everything.append(text)
            if e.kind == "note" and _HHMM.search(text):
                # "after the 13:36 deploy": a time before the note was written, and before the incident began
                said = _today_at(text, e.at)
                assert said <= inc.started_at <= e.at, f"{text!r} at {e.at}"
            if e.kind == "message_sent" and "ETA:" in text:
                assert _today_at(text.split("ETA:")[1], e.at) > e.at
    # No fixed date anywhere in what the demo wrote.
    assert not [t for t in everything if re.search(r"\b20\d\d-\d\d-\d\d\b", t)]
    assert verify_store(desk.store).ok
    desk.close()


def test_demo_command_runs_on_the_injected_clock(db_path, capsys):
    clock = FrozenClock(STARTS[1])
    assert cli.main(["demo", "--db", str(db_path)], clock=clock) == 0
    desk = Desk.open(db_path, clock=clock)
    try:
        newest = max(e.at for inc in desk.incidents(include_closed=True) for e in desk.timeline(inc.number))
        assert clock.now() - timedelta(minutes=5) <= newest <= clock.now()
    finally:
        desk.close()
