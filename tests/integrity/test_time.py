"""Deadlines stay right when the machine sleeps, when the user's zone changes its clocks, and when a
start time is typed with another zone's offset: every clock is recomputed from UTC instants."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from oncall_tui.clock import FrozenClock, format_local, iso, parse_instant
from oncall_tui.deadlines import State
from oncall_tui.desk import Desk
from oncall_tui.model import Severity

UTC = UTC


@pytest.fixture
def local_zone(monkeypatch):
    """Switch the process's local zone, as a user in that zone has it."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    return use


# --- sleep and wake ---------------------------------------------------------------------------------


def test_after_a_two_hour_sleep_every_clock_is_recomputed_from_the_wall_clock(desk: Desk, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    before = desk.deadlines(inc)
    assert before.get("acknowledge").seconds_left == 300
    assert before.escalation.tier.level == "Primary On-Call"

    clock.advance(hours=2)  # the laptop lid was closed; nothing ran meanwhile
    after = desk.deadlines(desk.get(inc.number))
    ack = after.get("acknowledge")
    assert ack.state is State.BREACHED
    assert ack.seconds_left == -(2 * 3600 - 300)  # exactly overdue since 03:05, not "5 min minus ticks"
    assert after.get("stakeholders").seconds_left == -(2 * 3600 - 900)
    # The escalation matrix is read from elapsed time too: two hours in is past the manager tier.
    reached = [t.level for t in desk.policy.escalation if t.after <= timedelta(hours=2)]
    assert after.escalation.tier.level == reached[-1]

    desk.acknowledge(inc.number)  # acknowledged on waking: late by the whole sleep
    ack = desk.deadlines(desk.get(inc.number)).get("acknowledge")
    assert ack.state is State.BREACHED and ack.done_at == clock.now()
    assert desk.timeline(inc.number)[-1].details == {"late_by_seconds": 2 * 3600 - 300}


@pytest.mark.anyio
async def test_the_board_shows_the_right_overdue_time_on_waking(desk: Desk, db_path, clock):
    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp

    inc = desk.declare("Login failures", severity=Severity.P1)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 30)) as pilot:
        row = lambda: app.board_screen.board.render_line(1).text  # noqa: E731 - the first incident row under the header
        assert "ack in 5m00s" in row()
        clock.advance(hours=2)
        app.tick()  # the first tick after waking
        await pilot.pause()
        assert "!! ack 1h55m overdue" in row()
    breaches = [e.details for e in desk.timeline(inc.number) if e.kind == "deadline_breached"]
    acknowledge = [b for b in breaches if b["deadline"] == "acknowledge"]
    assert acknowledge == [{"deadline": "acknowledge", "label": "Acknowledge", "due_at": "2026-11-27T03:05:00Z"}]


# --- daylight saving time ---------------------------------------------------------------------------
# 2026: Berlin springs forward on 29 March at 01:00 UTC and falls back on 25 October at 01:00 UTC;
# New York on 8 March at 07:00 UTC and 1 November at 06:00 UTC.

DST = [
    # zone, start (UTC), local start, local due of "Secondary On-Call" (30 min later)
    ("Europe/Berlin", "2026-03-29T00:50:00Z", "2026-03-29 01:50 CET", "2026-03-29 03:20 CEST"),
    ("Europe/Berlin", "2026-10-25T00:50:00Z", "2026-10-25 02:50 CEST", "2026-10-25 02:20 CET"),
    ("America/New_York", "2026-03-08T06:50:00Z", "2026-03-08 01:50 EST", "2026-03-08 03:20 EDT"),
    ("America/New_York", "2026-11-01T05:50:00Z", "2026-11-01 01:50 EDT", "2026-11-01 01:20 EST"),
]


@pytest.mark.parametrize("zone, start, local_start, local_due", DST, ids=[f"{z}-{s[:10]}" for z, s, _, _ in DST])
def test_clocks_across_a_dst_change_count_real_minutes_and_show_local_time(
    zone, start, local_start, local_due, local_zone, tmp_path, policy
):
    local_zone(zone)
    clock = FrozenClock(start)
    desk = Desk.open(tmp_path / "desk.db", policy=policy, clock=clock, actor="alice")
    inc = desk.declare("Login failures", severity=Severity.P1)
    secondary = next(t for t in policy.escalation if t.after == timedelta(minutes=30))

    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    clock.advance(minutes=18)  # across the change: 20 real minutes, whatever the wall clock says
    dl = desk.deadlines(desk.get(inc.number))
    stakeholders = dl.get("stakeholders")
    escalate = dl.get(secondary.key)
    assert dl.get("acknowledge").state is State.MET
    assert stakeholders.due_at - inc.started_at == timedelta(minutes=15)
    assert stakeholders.seconds_left == -5 * 60 and stakeholders.state is State.BREACHED
    assert escalate.due_at - inc.started_at == timedelta(minutes=30)
    assert escalate.seconds_left == 10 * 60 and escalate.state is State.PENDING
    assert format_local(inc.started_at, with_date=True) == local_start
    assert format_local(escalate.due_at, with_date=True) == local_due
    desk.close()


def test_show_prints_local_times_across_the_autumn_change(run_cli_in_zone):
    run = run_cli_in_zone("Europe/Berlin", "2026-10-25T00:50:00Z")
    started = next(line for line in run.splitlines() if line.strip().startswith("started"))
    assert started.split(None, 1)[1] == "2026-10-25 02:50 CEST"


@pytest.fixture
def run_cli_in_zone(tmp_path, policy, run_cli):
    """Declare through the Desk at a fixed instant, then `oncall-tui show` it with TZ set."""

    def run(zone: str, start: str) -> str:
        db = tmp_path / "desk.db"
        desk = Desk.open(db, policy=policy, clock=FrozenClock(start), actor="alice")
        desk.declare("Login failures", severity=Severity.P1)
        desk.close()
        result = run_cli("--db", str(db), "show", "INC-1", env={"TZ": zone})
        assert result.status == 0, result.err
        return result.out

    return run


# --- a start time typed with another zone's offset ------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_a_start_time_with_an_offset_means_the_same_instant_in_every_zone(zone, local_zone, tmp_path, policy):
    local_zone(zone)
    clock = FrozenClock("2026-11-27T03:10:00Z")
    desk = Desk.open(tmp_path / "desk.db", policy=policy, clock=clock, actor="alice")
    started = parse_instant("2026-11-27T04:00:00+01:00")
    inc = desk.declare("Login failures", severity=Severity.P1, started_at=started)
    assert iso(desk.get(inc.number).started_at) == "2026-11-27T03:00:00Z"
    ack = desk.deadlines(inc).get("acknowledge")
    assert iso(ack.due_at) == "2026-11-27T03:05:00Z" and ack.state is State.BREACHED
    assert desk.timeline(inc.number)[0].details["started_at"] == "2026-11-27T03:00:00Z"
    desk.close()


def test_the_command_line_takes_an_offset_from_another_zone(run_cli, db_path):
    # Relative to the real clock (the CLI runs on the system clock): ninety minutes ago, in UTC+01:00.
    now = datetime.now(UTC).replace(microsecond=0)
    typed = (now - timedelta(minutes=90)).astimezone(timezone(timedelta(hours=1))).isoformat()
    run = run_cli(
        "declare", "Login failures", "--severity", "P1", "--started-at", typed, "--json", env={"TZ": "America/New_York"}
    )
    assert run.status == 0, run.err
    data = json.loads(run.out)
    assert data["started_at"] == iso(now - timedelta(minutes=90))
    shown = run_cli("show", "INC-1", env={"TZ": "America/New_York"}).out
    started = next(line for line in shown.splitlines() if line.strip().startswith("started"))
    expected = (now - timedelta(minutes=90)).astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M %Z")
    assert started.split(None, 1)[1] == expected
    ack = next(d for d in json.loads(run_cli("show", "INC-1", "--json").out)["deadlines"] if d["name"] == "acknowledge")
    assert ack["due_at"] == iso(now - timedelta(minutes=85)) and ack["state"] == "breached"


# --- a local time without an offset, on the night the clocks change --------------------------------


def test_a_local_time_that_does_not_exist_is_refused(local_zone):
    local_zone("Europe/Berlin")
    with pytest.raises(ValueError, match="does not exist"):
        parse_instant("2026-03-29T02:30")  # 02:00 → 03:00 that night


def test_a_local_time_that_happens_twice_asks_for_an_offset(local_zone):
    local_zone("Europe/Berlin")
    with pytest.raises(ValueError, match="twice"):
        parse_instant("2026-10-25T02:30")  # 03:00 → 02:00 that night
