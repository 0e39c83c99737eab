"""Overrides as the desk and the CLI make them: planned and described before they are written,
refused with one clear line, swaps made and cancelled as a pair, and an append-only audit trail.

The clock is frozen in March 2027 so the swap crosses Europe/Berlin's switch to summer time on
Sunday 2027-03-28 (02:00 CET → 03:00 CEST): the week of Monday 22 March, handoff 10:00, lasts 167
hours. Instants are written in UTC beside their local meaning.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from support.roster import PRIMARY_THEN_MANAGER, people_toml, schedules_toml, write_config

from oncall_tui import cli, overrides
from oncall_tui.clock import FrozenClock, parse_instant
from oncall_tui.desk import ActionRefused, Desk
from oncall_tui.notify.pager import live_overrides
from oncall_tui.policy import load_policy
from oncall_tui.schedules import load_roster
from oncall_tui.when import parse_at

BERLIN = ZoneInfo("Europe/Berlin")

PEOPLE = people_toml()
# ava holds 15–22 March, ben 22–29 March (across the switch), ava 29 March – 5 April, ben after.
SCHEDULES = schedules_toml("2027-03-15", secondary=False)
POLICY = PRIMARY_THEN_MANAGER


def at(text: str):
    return parse_instant(text)


@pytest.fixture
def config(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "config", people=PEOPLE, schedules=SCHEDULES, policy=POLICY)
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(directory))
    return directory


@pytest.fixture
def march() -> FrozenClock:
    return FrozenClock("2027-03-20T12:00:00Z")  # Saturday, ava's week


@pytest.fixture
def setup(config, record_target, march):
    """A desk on either backend (a file, or a fresh PostgreSQL database) and the roster."""
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(record_target, policy=policy, clock=march, actor="alice")
    yield desk, load_roster(config)
    desk.close()


def holder(desk, roster, moment: str) -> str | None:
    return roster.holder("primary", at(moment), live_overrides(desk.store, desk.now()))


def test_a_swap_across_the_dst_switch_trades_whole_weeks_handoff_to_handoff(setup):
    desk, roster = setup
    plan = overrides.plan_swap(desk, roster, "primary", "ava", "ben", first_at=at("2027-03-30T00:00Z"))
    # Nothing is written by planning.
    assert desk.store.override_rows(include_cancelled=True) == []
    ava_takes, ben_takes = (c.override for c in plan.changes)
    assert (ava_takes.person, ava_takes.covering) == ("ava", "ben")
    # Ben's week: Mon 22 March 10:00 CET (09:00Z) → Mon 29 March 10:00 CEST (08:00Z), 167 hours.
    assert ava_takes.starts_at == at("2027-03-22T09:00Z") and ava_takes.ends_at == at("2027-03-29T08:00Z")
    assert ava_takes.ends_at - ava_takes.starts_at == timedelta(hours=167)
    # Ava's week after it: 10:00 CEST to 10:00 CEST, 168 hours.
    assert ben_takes.starts_at == at("2027-03-29T08:00Z") and ben_takes.ends_at == at("2027-04-05T08:00Z")
    for o in (ava_takes, ben_takes):
        assert o.starts_at.astimezone(BERLIN).hour == 10 and o.ends_at.astimezone(BERLIN).hour == 10

    made = overrides.commit(desk, plan)
    assert [o.kind for o in made] == ["swap", "swap"] and made[1].swap_of == made[0].id
    assert holder(desk, roster, "2027-03-28T12:00Z") == "ava"  # Sunday after the switch: ava, not ben
    assert holder(desk, roster, "2027-03-29T07:59Z") == "ava"  # 09:59 CEST
    assert holder(desk, roster, "2027-03-29T08:00Z") == "ben"  # 10:00 CEST: the handoff on the wall clock
    assert holder(desk, roster, "2027-04-05T08:00Z") == "ben"  # and ben's own week follows, as before

    # Cancelling either half cancels both, in one go, by the desk's actor.
    cancelled = overrides.cancel(desk, made[1].id)
    assert {o.id for o in cancelled} == {made[0].id, made[1].id}
    assert all(o.cancelled_by == "alice" for o in cancelled)
    assert holder(desk, roster, "2027-03-28T12:00Z") == "ben"


def test_a_swap_of_a_shift_under_way_changes_only_what_is_left_of_it(setup):
    desk, roster = setup
    plan = overrides.plan_swap(desk, roster, "primary", "ava", "ben")
    first, second = plan.changes
    assert first.override.person == "ben" and first.starts_at == desk.now()  # the rest of ava's week
    assert first.ends_at == at("2027-03-22T09:00Z")
    assert second.override.person == "ava" and second.starts_at == at("2027-03-22T09:00Z")


def test_a_plan_says_who_holds_the_level_before_and_after_in_both_zones(setup):
    desk, roster = setup
    until = parse_at("+4h", desk.now())
    plan = overrides.plan_add(desk, roster, "primary", "chen", ends_at=until, covering="ava")
    lines = overrides.describe(plan, roster, desk.policy, ZoneInfo("America/New_York"))
    assert lines[0] == "primary (Primary On-Call): Ava Jones → Chen Li"
    assert lines[1] == "  now → 12:00 EDT"  # 16:00Z in New York (already on summer time)
    assert lines[2] == "  now → 17:00 Europe/Berlin"  # still CET there


@pytest.mark.parametrize(
    ("kwargs", "refusal"),
    [
        ({"person": "zed", "hours": 1}, "'zed' is not in people.toml (ava, ben, chen)"),
        ({"person": "chen", "hours": 1, "covering": "zed"}, "'zed' (covered) is not in people.toml"),
        ({"person": "chen", "hours": 0}, "say how long"),
        ({"person": "chen", "ends_at": "2027-03-20T11:00Z"}, "ends before it starts"),
        ({"person": "ava", "hours": 2}, "Ava Jones holds primary then already: nothing would change"),
        ({"person": "chen", "hours": 24 * 91}, "longer than 90 days"),
        ({"person": "chen", "hours": 1, "covering": "chen"}, "cannot cover for themselves"),
    ],
)
def test_a_plan_that_makes_no_sense_is_refused_in_one_line(setup, kwargs, refusal):
    desk, roster = setup
    kwargs = dict(kwargs)  # the same parameters serve both backends: leave them as given
    if "ends_at" in kwargs:
        kwargs["ends_at"] = at(kwargs["ends_at"])
    person = kwargs.pop("person")
    with pytest.raises(ActionRefused) as caught:
        overrides.plan_add(desk, roster, "primary", person, **kwargs)
    assert refusal in str(caught.value) and "\n" not in str(caught.value)


def test_overlaps_are_refused_at_planning_and_again_when_committing(setup):
    desk, roster = setup
    stale = overrides.plan_add(desk, roster, "primary", "chen", hours=2)
    overrides.add(desk, roster, "primary", "ben", hours=3)  # another desk got there first
    with pytest.raises(ActionRefused, match=r"overlaps override #1 \(ben on primary"):
        overrides.commit(desk, stale)
    with pytest.raises(ActionRefused, match="overlaps override #1"):
        overrides.plan_add(desk, roster, "primary", "chen", hours=2)
    with pytest.raises(ActionRefused, match="through override #1: cancel it first"):
        overrides.plan_swap(desk, roster, "primary", "ben", "ava")


def test_cancel_plans_say_who_holds_it_again(setup):
    desk, roster = setup
    o = overrides.add(desk, roster, "primary", "chen", hours=3, covering="ava")
    plan = overrides.plan_cancel(desk, roster, o.id)
    assert overrides.describe(plan, roster, desk.policy)[0] == f"#{o.id} primary (Primary On-Call): Chen Li → Ava Jones"
    overrides.cancel(desk, o.id)
    with pytest.raises(ActionRefused, match=f"#{o.id} was already cancelled by alice"):
        overrides.plan_cancel(desk, roster, o.id)
    with pytest.raises(ActionRefused, match="no override #99"):
        overrides.plan_cancel(desk, roster, 99)


def test_an_override_that_is_over_cannot_be_cancelled(setup, march):
    desk, roster = setup
    o = overrides.add(desk, roster, "primary", "chen", hours=2)
    march.advance(hours=3)
    with pytest.raises(ActionRefused, match=r"is over already \(it ended Sat 20 Mar 14:00 UTC\)"):
        overrides.plan_cancel(desk, roster, o.id)


def test_schedules_are_found_by_name_or_by_the_level_that_pages_them(setup):
    desk, roster = setup
    for text in ("primary", "1", "L1", "primary on-call"):
        assert overrides.schedule_named(roster, desk.policy, text) == "primary"
    with pytest.raises(ActionRefused, match="pages chen directly"):
        overrides.schedule_named(roster, desk.policy, "2")
    with pytest.raises(ActionRefused, match=r"no schedule 'nope' \(primary\)"):
        overrides.schedule_named(roster, desk.policy, "nope")


def test_the_history_is_every_override_made_swapped_and_cancelled_newest_first(setup, march):
    desk, roster = setup
    taken = overrides.add(desk, roster, "primary", "chen", hours=2, reason="ava at the dentist")
    march.advance(minutes=10)
    overrides.cancel(desk, taken.id)
    march.advance(minutes=10)
    desk.actor = "bob"
    overrides.swap(desk, roster, "primary", "ava", "ben", first_at=at("2027-03-30T00:00Z"))
    entries = overrides.history(desk)
    assert [(e.action, e.actor, e.override.id) for e in entries] == [
        ("swapped", "bob", 3),
        ("swapped", "bob", 2),
        ("cancelled", "alice", 1),
        ("took", "alice", 1),
    ]
    assert entries[-1].at == at("2027-03-20T12:00Z") and entries[-2].at == at("2027-03-20T12:10Z")
    text = overrides.entry_text(entries[-1], roster, ZoneInfo("UTC"))
    assert text == "#1: Chen Li takes primary, 12:00 → 14:00 — ava at the dentist"
    assert overrides.entry_text(entries[0], roster, ZoneInfo("UTC")).startswith(
        "swap #3: Ben Okafor takes Ava Jones's shift on primary"
    )


REWRITES = (
    "UPDATE overrides SET person = 'ben' WHERE id = 1",
    "UPDATE overrides SET ends_at = '2027-04-01T00:00:00Z' WHERE id = 1",
    "UPDATE overrides SET swap_of = 1 WHERE id = 1",
    "DELETE FROM overrides WHERE id = 1",
)
RECANCEL = "UPDATE overrides SET cancelled_by = 'mallory' WHERE id = 1"


def test_an_override_row_is_never_rewritten_nor_deleted(config, db_path, march):
    desk = Desk.open(db_path, policy=load_policy(config / "policy.toml"), clock=march, actor="alice")
    o = overrides.add(desk, load_roster(config), "primary", "chen", hours=2)
    conn = desk.store.conn
    for sql in REWRITES:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    overrides.cancel(desk, o.id)
    with pytest.raises(sqlite3.IntegrityError, match="never rewritten"):
        conn.execute(RECANCEL)
    desk.close()


@pytest.mark.postgres
def test_on_postgresql_too_an_override_row_is_never_rewritten_nor_deleted(config, pg_url, march):
    import psycopg

    desk = Desk.open(pg_url, policy=load_policy(config / "policy.toml"), clock=march, actor="alice")
    o = overrides.add(desk, load_roster(config), "primary", "chen", hours=2)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in REWRITES:
            with pytest.raises(psycopg.errors.RestrictViolation):
                conn.execute(sql)
        overrides.cancel(desk, o.id)
        with pytest.raises(psycopg.errors.RestrictViolation, match="never rewritten"):
            conn.execute(RECANCEL)
    desk.close()


def test_the_cli_swaps_lists_the_history_and_cancels_both_halves(setup, record_target, march, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        status = cli.main([*argv, "--db", str(record_target)], clock=march)
        out = capsys.readouterr()
        return status, out.out, out.err

    status, out, err = run("override", "swap", "primary", "ava", "ben", "--first-at", "2027-03-30T00:00Z")
    assert status == 0, err
    assert out.splitlines()[0].startswith("#1    primary      ava        covering ben")
    assert "primary (Primary On-Call): Ben Okafor → Ava Jones" in out
    assert "Mon 22 Mar 10:00 → Mon 29 Mar 10:00 Europe/Berlin" in out
    status, out, err = run("override", "cancel", "1")
    assert status == 0 and out.count("cancelled") == 2
    import json

    status, out, _ = run("override", "history", "--json")
    actions = [(e["action"], e["override"]["id"], e["override"]["kind"]) for e in json.loads(out)]
    assert actions == [
        ("cancelled", 2, "swap"),
        ("cancelled", 1, "swap"),
        ("swapped", 2, "swap"),
        ("swapped", 1, "swap"),
    ]
    status, out, _ = run("override", "add", "primary", "chen", "--from", "22:00", "--until", "+8h")
    assert status == 0
    # 22:00 in the schedule's zone (CET) is 21:00Z; eight hours on is 05:00Z (06:00 CET).
    assert "Sat 20 Mar 22:00 → Sun 21 Mar 06:00 Europe/Berlin" in out
    status, _, err = run("override", "add", "primary", "chen", "--from", "-2h", "--until", "+1h")
    assert status == 1 and "is in the past" in err


def test_an_override_that_moves_the_next_page_says_so_on_each_open_unacknowledged_incident(setup, march):
    from oncall_tui.event_text import describe

    desk, roster = setup
    waiting = desk.declare("Login failures", severity="P1")
    handled = desk.declare("Slow search", severity="P2")
    desk.acknowledge(handled.number)
    later = overrides.add(desk, roster, "primary", "ben", starts_at=at("2027-03-21T00:00Z"), hours=2)
    assert [e.kind for e in desk.timeline(waiting.number)] == ["declared"]  # nothing moves now
    taken = overrides.add(desk, roster, "primary", "chen", hours=2)
    (moved,) = [e for e in desk.timeline(waiting.number) if e.kind == "override_moved_page"]
    assert moved.actor == "alice" and moved.details["to"] == "chen" and moved.details["from"] == "ava"
    assert describe(moved)[0] == (
        f"Override #{taken.id} made: Primary On-Call is Chen Li now (was Ava Jones); the next page goes to Chen Li"
    )
    assert "override_moved_page" not in [e.kind for e in desk.timeline(handled.number)]
    overrides.cancel(desk, taken.id)
    back = [e for e in desk.timeline(waiting.number) if e.kind == "override_moved_page"][-1]
    assert (back.details["action"], back.details["to"]) == ("cancelled", "ava")
    overrides.cancel(desk, later.id)  # not in effect now: no line
    assert len([e for e in desk.timeline(waiting.number) if e.kind == "override_moved_page"]) == 2
