"""A wall clock that jumps is a fault the desk names: the watch tells a clock being set from time
passing, and the record never silently holds an event earlier than the one before it, nor a breach
of a deadline still to come."""

from __future__ import annotations

from datetime import timedelta

from oncall_tui.clock import ClockWatch, FrozenClock
from oncall_tui.event_text import describe
from oncall_tui.model import Severity


def watch_of(clock: FrozenClock) -> tuple[ClockWatch, callable]:
    watch = ClockWatch()

    def look():
        return watch.observe(clock.now(), clock.steady())

    look()
    return watch, look


def test_time_passing_is_no_jump(clock):
    watch, look = watch_of(clock)
    for _ in range(3):
        clock.advance(seconds=1)
        assert look() is None
    clock.advance(hours=8)  # a night with the lid shut: the steady clock counts the suspend
    assert look() is None and not watch.holding
    clock.step(seconds=ClockWatch.TOLERANCE)  # NTP slewing a few seconds is not a jump
    assert look() is None


def test_a_step_ahead_is_held_until_it_has_lasted(clock):
    watch, look = watch_of(clock)
    clock.step(days=1)
    jump = look()
    assert jump is not None and not jump.back and jump.seconds == 86400
    assert "jumped 1d00h ahead" in jump.describe()
    assert watch.holding
    clock.advance(seconds=ClockWatch.SETTLE - 1)
    assert look() is None and watch.holding
    clock.advance(seconds=1)
    assert look() is None and not watch.holding


def test_a_step_back_ends_the_hold_and_says_so(clock):
    watch, look = watch_of(clock)
    clock.step(days=1)
    look()
    clock.step(days=-1)
    jump = look()
    assert jump is not None and jump.back and jump.seconds == -86400
    assert "set back 1d00h" in jump.describe()
    assert not watch.holding
    # FrozenClock.advance backwards is a clock set back too: time itself never runs backwards.
    clock.advance(minutes=-10)
    assert look().back


def test_an_event_written_by_a_clock_set_back_says_so(desk, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    clock.step(hours=3)
    desk.note(inc.number, "written while the clock ran 3 hours ahead")
    clock.step(hours=-3)
    clock.advance(minutes=1)
    desk.acknowledge(inc.number)
    last = desk.timeline(inc.number)[-1]
    assert last.at == clock.now()  # the time this desk's clock gives: nothing invented
    assert last.details["clock_behind_seconds"] == 3 * 3600 - 60
    text, tone = describe(last)
    assert text.endswith("[written by a clock 2h59m behind the event before it]") and tone == "warning"
    # Within the tolerance two desks' clocks may disagree by, nothing is said.
    clock.advance(minutes=200)
    desk.note(inc.number, "a")
    clock.step(seconds=-3)
    desk.note(inc.number, "b")
    assert "clock_behind_seconds" not in desk.timeline(inc.number)[-1].details


def test_a_breach_of_a_deadline_still_to_come_is_never_written(desk, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    due = clock.now() + timedelta(minutes=5)
    assert desk.record_breach(inc.number, "acknowledge", "Acknowledge", due) is False
    assert [e.kind for e in desk.timeline(inc.number)] == ["declared"]
    clock.advance(minutes=5, seconds=1)
    assert desk.record_breach(inc.number, "acknowledge", "Acknowledge", due) is True
