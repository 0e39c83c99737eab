"""Schedules as code: rotations, layers, restrictions, overrides, and the files' mistakes.

Every instant is written out in UTC beside its local meaning, so a reader can check the DST rules
by hand: Europe/Berlin switches on 2027-03-28 and 2027-10-31, America/New_York on 2027-03-14 and
2027-11-07.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from oncall_tui.clock import parse_instant
from oncall_tui.schedules import Layer, Override, Roster, RosterError, Schedule, check_overlap, load_roster


def at(text: str) -> datetime:
    return parse_instant(text)


def person_roster(*handles: str):
    from oncall_tui.schedules import Person

    return {h: Person(h, h.capitalize()) for h in handles}


def daily(tz: str, handoff: str, start: date, rotation=("ava", "ben")) -> Roster:
    layer = Layer("daily", tuple(rotation), start, time.fromisoformat(handoff), shift_days=1)
    return Roster(person_roster(*rotation), {"s": Schedule("s", tz, (layer,))})


def handoffs(roster: Roster, start: str, end: str) -> list[tuple[str, str]]:
    return [
        (s.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"), s.person)
        for s in roster.shifts("s", at(start), at(end))
    ]


def test_a_berlin_handoff_at_ten_stays_at_ten_across_both_2027_switches():
    roster = daily("Europe/Berlin", "10:00", date(2027, 3, 20))
    # 10:00 CET is 09:00Z; from 28 March 10:00 CEST is 08:00Z.
    assert handoffs(roster, "2027-03-27T09:00:00Z", "2027-03-29T12:00:00Z") == [
        ("2027-03-27T09:00Z", "ben"),
        ("2027-03-28T08:00Z", "ava"),
        ("2027-03-29T08:00Z", "ben"),
    ]
    # And back: 30 October 10:00 CEST is 08:00Z, 31 October 10:00 CET is 09:00Z.
    assert handoffs(roster, "2027-10-30T08:00:00Z", "2027-11-01T00:00:00Z") == [
        ("2027-10-30T08:00Z", roster.holder("s", at("2027-10-30T08:00:00Z"))),
        ("2027-10-31T09:00Z", roster.holder("s", at("2027-10-31T09:00:00Z"))),
    ]
    assert roster.holder("s", at("2027-10-31T08:59:59Z")) != roster.holder("s", at("2027-10-31T09:00:00Z"))


def test_a_weekly_new_york_shift_over_the_march_2027_switch_is_167_hours():
    layer = Layer("weekly", ("ava", "ben"), date(2027, 3, 1), time(9, 0), shift_days=7)
    roster = Roster(person_roster("ava", "ben"), {"s": Schedule("s", "America/New_York", (layer,))})
    shifts = roster.shifts("s", at("2027-03-08T14:00:00Z"), at("2027-03-22T13:00:00Z"))
    # Monday 8 March 09:00 EST = 14:00Z → Monday 15 March 09:00 EDT = 13:00Z.
    assert [(s.person, s.starts_at, s.ends_at) for s in shifts] == [
        ("ben", at("2027-03-08T14:00:00Z"), at("2027-03-15T13:00:00Z")),
        ("ava", at("2027-03-15T13:00:00Z"), at("2027-03-22T13:00:00Z")),
    ]
    assert shifts[0].ends_at - shifts[0].starts_at == timedelta(hours=167)


def test_new_york_in_november_2027_hands_off_at_nine_local_both_sides_of_the_switch():
    roster = daily("America/New_York", "09:00", date(2027, 11, 1))
    assert [h[0] for h in handoffs(roster, "2027-11-06T13:00:00Z", "2027-11-08T15:00:00Z")] == [
        "2027-11-06T13:00Z",  # 09:00 EDT
        "2027-11-07T14:00Z",  # 09:00 EST
        "2027-11-08T14:00Z",
    ]


def test_handoffs_the_switch_skips_or_repeats_happen_once():
    # 02:30 does not exist in Berlin on 28 March 2027: the handoff is at 03:30 CEST (01:30Z).
    skipped = daily("Europe/Berlin", "02:30", date(2027, 3, 1))
    assert at("2027-03-28T01:30:00Z") in {
        s.starts_at for s in skipped.shifts("s", at("2027-03-27T12:00:00Z"), at("2027-03-28T12:00:00Z"))
    }
    # 01:30 happens twice in New York on 7 November 2027: the first (EDT, 05:30Z) is the handoff.
    repeated = daily("America/New_York", "01:30", date(2027, 11, 1))
    starts = {s.starts_at for s in repeated.shifts("s", at("2027-11-07T00:00:00Z"), at("2027-11-07T12:00:00Z"))}
    assert at("2027-11-07T05:30:00Z") in starts and at("2027-11-07T06:30:00Z") not in starts


def test_twelve_hour_shifts_count_elapsed_hours():
    layer = Layer("12h", ("ava", "ben"), date(2027, 3, 27), time(8, 0), shift_hours=12)
    roster = Roster(person_roster("ava", "ben"), {"s": Schedule("s", "Europe/Berlin", (layer,))})
    assert roster.holder("s", at("2027-03-27T07:00:00Z")) == "ava"  # 08:00 CET
    assert roster.holder("s", at("2027-03-27T19:00:00Z")) == "ben"
    assert roster.holder("s", at("2027-03-28T07:00:00Z")) == "ava"  # 12 h × 2 later, 09:00 CEST


def write(tmp_path: Path, people: str, schedules: str = "") -> Path:
    (tmp_path / "people.toml").write_text(people)
    if schedules:
        (tmp_path / "schedules.toml").write_text(schedules)
    return tmp_path


PEOPLE = """\
[people.ava]
name = "Ava"
tz = "Europe/Berlin"
notify = ["ntfys://ntfy.example/ava"]

[people.ben]
name = "Ben"
notify = ["mailto://smtp.example?to=ben@example.com"]

[people.dee]
name = "Dee"
"""

FOLLOW_THE_SUN = """\
[schedules.primary]
tz = "Europe/Berlin"

[[schedules.primary.layers]]
name = "24/7"
rotation = ["ava", "ben"]
shift = "1w"
start = 2027-01-04
handoff = "10:00"
handoff_day = "monday"

[[schedules.primary.layers]]
name = "daytime"
rotation = ["dee"]
shift = "1d"
start = 2027-01-04
handoff = "09:00"
restrict = ["mon-fri 09:00-17:00"]
"""


def test_a_daytime_layer_wins_while_it_is_on_and_the_247_layer_holds_the_rest(tmp_path):
    roster = load_roster(write(tmp_path, PEOPLE, FOLLOW_THE_SUN))
    # Tuesday 5 January 2027, Berlin (CET, UTC+1).
    assert roster.holder("primary", at("2027-01-05T08:30:00Z")) == "dee"  # 09:30 local, weekday
    assert roster.holder("primary", at("2027-01-05T16:30:00Z")) == "ava"  # 17:30 local
    assert roster.holder("primary", at("2027-01-09T10:00:00Z")) == "ava"  # Saturday
    assert roster.holder("primary", at("2027-01-11T09:30:00Z")) == "dee"  # next Monday 10:30
    assert roster.holder("primary", at("2027-01-11T17:00:00Z")) == "ben"  # the 24/7 layer handed off
    shifts = roster.shifts("primary", at("2027-01-05T00:00:00Z"), at("2027-01-06T00:00:00Z"))
    assert [(s.person, s.starts_at.strftime("%H:%M")) for s in shifts] == [
        ("ava", "00:00"),
        ("dee", "08:00"),
        ("ava", "16:00"),
    ]


def test_an_override_takes_the_pager_and_cancelling_it_gives_it_back(tmp_path):
    roster = load_roster(write(tmp_path, PEOPLE, FOLLOW_THE_SUN))
    moment = at("2027-01-09T10:00:00Z")
    cover = Override(1, "primary", "ben", at("2027-01-09T08:00:00Z"), at("2027-01-09T14:00:00Z"), covering="ava")
    assert roster.holder("primary", moment, [cover]) == "ben"
    shifts = roster.shifts("primary", at("2027-01-09T00:00:00Z"), at("2027-01-09T20:00:00Z"), [cover])
    assert [(s.person, s.override is not None) for s in shifts] == [("ava", False), ("ben", True), ("ava", False)]
    from dataclasses import replace

    cancelled = replace(cover, cancelled_at=at("2027-01-09T09:00:00Z"))
    assert roster.holder("primary", moment, [cancelled]) == "ava"


def test_overlapping_overrides_are_found():
    a = Override(1, "primary", "ben", at("2027-01-09T08:00:00Z"), at("2027-01-09T14:00:00Z"))
    b = Override(0, "primary", "dee", at("2027-01-09T13:00:00Z"), at("2027-01-09T15:00:00Z"))
    assert check_overlap(b, [a]) == a
    touching = Override(0, "primary", "dee", at("2027-01-09T14:00:00Z"), at("2027-01-09T15:00:00Z"))
    assert check_overlap(touching, [a]) is None
    other = Override(0, "secondary", "dee", at("2027-01-09T13:00:00Z"), at("2027-01-09T15:00:00Z"))
    assert check_overlap(other, [a]) is None


@pytest.mark.parametrize(
    ("people", "schedules", "expected"),
    [
        (
            PEOPLE,
            FOLLOW_THE_SUN.replace('rotation = ["dee"]', "rotation = []"),
            r"schedules.toml, line 14: the rotation of primary/daytime is empty",
        ),
        (
            PEOPLE,
            FOLLOW_THE_SUN.replace('tz = "Europe/Berlin"', 'tz = "Europe/Berlinn"'),
            r"schedules.toml, line 2: unknown time zone 'Europe/Berlinn'",
        ),
        (
            PEOPLE.replace('tz = "Europe/Berlin"', 'tz = "Mars/Olympus"'),
            "",
            r"people.toml, line 3: unknown time zone 'Mars/Olympus'",
        ),
        (
            PEOPLE,
            FOLLOW_THE_SUN.replace('["ava", "ben"]', '["ava", "bob"]'),
            r"line 6: 'bob' in primary/24/7 is not in people.toml",
        ),
        (PEOPLE, FOLLOW_THE_SUN.replace('shift = "1d"', 'shift = "daily"'), r"line 15: shift 'daily' is not a length"),
        (
            PEOPLE,
            FOLLOW_THE_SUN.replace('handoff = "10:00"', 'handoff = "25:00"'),
            r"line 9: '25:00' is not a time of day",
        ),
        (
            PEOPLE,
            FOLLOW_THE_SUN.replace('start = 2027-01-04\nhandoff = "10:00"', 'start = 2027-01-05\nhandoff = "10:00"'),
            r"2027-01-05 is a tue, but handoff_day is monday",
        ),
        (PEOPLE, FOLLOW_THE_SUN.replace("mon-fri 09:00-17:00", "weekdays"), r"line 18: restriction 'weekdays'"),
        (PEOPLE, "[schedules.primary\n", r"schedules.toml: .*line 1"),
    ],
)
def test_a_broken_file_is_named_with_its_line(tmp_path, people, schedules, expected):
    with pytest.raises(RosterError, match=expected):
        load_roster(write(tmp_path, people, schedules))


def test_no_files_is_an_unconfigured_roster_not_an_error(tmp_path):
    roster = load_roster(tmp_path)
    assert not roster.configured and roster.schedules == {}
