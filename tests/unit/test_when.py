"""Times as people type them: one parser for the board's forms and every command, relative to an
injected now (never today's date), refusing the absurd with one clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_tui.clock import FrozenClock, parse_instant
from oncall_tui.when import MAX_FUTURE, MAX_PAST, SKEW, check_start, parse_future, parse_past


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("-20m", "2026-11-27T02:40:00Z"),
        ("-1h30m", "2026-11-27T01:30:00Z"),
        ("- 1h 30m", "2026-11-27T01:30:00Z"),
        ("45m ago", "2026-11-27T02:15:00Z"),
        ("20M AGO", "2026-11-27T02:40:00Z"),
        ("2d ago", "2026-11-25T03:00:00Z"),
        ("-90s", "2026-11-27T02:58:30Z"),
        ("02:12", "2026-11-27T02:12:00Z"),
        ("2026-11-27T02:00:00+01:00", "2026-11-27T01:00:00Z"),
        ("2026-11-27 02:55", "2026-11-27T02:55:00Z"),  # no offset: the user's zone (UTC in tests)
    ],
)
def test_start_times_people_type(clock, text, expected):
    assert parse_past(text, clock.now()) == (parse_instant(expected) if expected else None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("04:00", "in the future"),
        ("yesterday", "use -20m, 20m ago, 03:12"),
        ("+20m", "in the future"),
        ("in 20m", "in the future"),
        ("25:00", "not a time of day"),
        ("-1000000d", "more than 366 days ago"),
        ("-99999999999999999999d", "more than 366 days ago"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("0001-01-01T00:00:00Z", "more than 366 days ago"),
        ("9999-12-31T23:59:59Z", "in the future"),
    ],
)
def test_start_times_that_are_refused_in_one_line(clock, text, message):
    with pytest.raises(ValueError, match=message) as refused:
        parse_past(text, clock.now())
    assert "\n" not in str(refused.value)


def test_the_bounds_are_relative_to_now_not_to_a_date(clock):
    now = clock.now()
    assert parse_past("-366d", now) == now - MAX_PAST
    with pytest.raises(ValueError):
        parse_past("-367d", now)
    # A moment ahead is two machines' clocks disagreeing: it reads as now.
    assert check_start(now + SKEW, now) == now
    with pytest.raises(ValueError, match="in the future"):
        check_start(now + SKEW + timedelta(seconds=1), now)
    # The same text a year later means a year later.
    later = FrozenClock(now + timedelta(days=400)).now()
    assert parse_past("-20m", later) == later - timedelta(minutes=20)


def test_a_time_of_day_later_than_now_suggests_yesterdays_date(clock):
    with pytest.raises(ValueError, match=r"e\.g\. 2026-11-26T04:00"):
        parse_past("04:00", clock.now())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 30m", "2026-11-27T03:30:00Z"),
        ("1h 30m", "2026-11-27T04:30:00Z"),
        ("04:15", "2026-11-27T04:15:00Z"),
        ("02:00", "2026-11-28T02:00:00Z"),  # already past today: tomorrow
        ("2026-11-28T14:00:00Z", "2026-11-28T14:00:00Z"),
    ],
)
def test_promised_times(clock, text, expected):
    assert parse_future(text, clock.now()) == parse_instant(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("0001-01-01 00:00+14:00", "out of range"),
        ("0001-01-01T00:00:00Z", "in the past"),
        ("9999-12-31T23:59:59Z", "more than 366 days ahead"),
        ("in 99999999h", "more than 366 days ahead"),
        ("soon", "cannot read"),
    ],
)
def test_promised_times_that_are_refused(clock, text, message):
    with pytest.raises(ValueError, match=message):
        parse_future(text, clock.now())
    assert MAX_FUTURE.days == 366


# --- when an override begins or ends ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        ("now", None, "2026-11-27T03:00:00Z"),
        ("+4h", None, "2026-11-27T07:00:00Z"),
        ("4h30m", None, "2026-11-27T07:30:00Z"),
        ("in 2d", None, "2026-11-29T03:00:00Z"),
        ("4", None, "2026-11-27T07:00:00Z"),  # a bare number is hours where the field asks for hours
        ("02:00", None, "2026-11-28T02:00:00Z"),  # the next 02:00
        ("+8h", "2026-11-27T22:00:00Z", "2026-11-28T06:00:00Z"),  # an end counts from the start
        ("06:00", "2026-11-27T22:00:00Z", "2026-11-28T06:00:00Z"),
        ("2026-11-27T10:00+01:00", None, "2026-11-27T09:00:00Z"),
    ],
)
def test_override_times_people_type(clock, text, base, expected):
    from oncall_tui.when import parse_at

    start = parse_instant(base) if base else None
    assert parse_at(text, clock.now(), base=start, bare_hours=True) == parse_instant(expected)


def test_a_time_of_day_in_the_schedules_zone_keeps_its_wall_clock_across_dst():
    from zoneinfo import ZoneInfo

    from oncall_tui.when import parse_at

    saturday = parse_instant("2027-03-27T12:00:00Z")  # Berlin switches to CEST that night
    assert parse_at("10:00", saturday, ZoneInfo("Europe/Berlin"), base=saturday + timedelta(hours=12)) == (
        parse_instant("2027-03-28T08:00:00Z")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: say when"),
        ("-2h", "-2h is in the past: an override starts now or later"),
        ("2h ago", "in the past"),
        ("0h", "no time at all"),
        ("2026-11-26T00:00Z", "is in the past (1d03h ago)"),
        ("+400d", "+400d is more than 366 days ahead"),
        ("someday", "cannot read 'someday' as a time: use now, +4h, 03:00 or an ISO time"),
    ],
)
def test_override_times_that_make_no_sense(clock, text, message):
    from oncall_tui.when import parse_at

    with pytest.raises(ValueError) as caught:
        parse_at(text, clock.now())
    assert message in str(caught.value)
