"""The command line on an injected clock: `main(argv, clock=...)` is the only "now" of every command,
and every time typed on it reads as the board's forms read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_tui import cli
from oncall_tui.clock import parse_instant
from oncall_tui.deadlines import State


@pytest.fixture
def run(db_path, clock, capsys):
    """`oncall-tui ARGS --db desk.db` in-process on the frozen clock: (status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        status = cli.main([*argv, "--db", str(db_path)], clock=clock)
        out = capsys.readouterr()
        return status, out.out, out.err

    return run


def refused(result: tuple[int, str, str]) -> str:
    status, out, err = result
    assert status == 1 and out == ""
    assert err.startswith("oncall-tui: ") and err.count("\n") == 1, err
    return err.strip()


def test_every_command_reads_now_from_the_injected_clock(run, desk, clock):
    assert run("declare", "Login failures", "--severity", "P1")[0] == 0
    inc = desk.get(1)
    assert inc.declared_at == clock.now() == parse_instant("2026-11-27T03:00:00Z")
    clock.advance(minutes=3)
    status, out, _ = run("show", "INC-1")
    assert "ack in" not in out and "Acknowledge" in out and "2m00s left" in out
    assert run("ack", "INC-1")[0] == 0
    assert desk.get(1).acknowledged_at == clock.now()


@pytest.mark.parametrize("argv", [("--started-at", "-3m"), ("--started-at=-3m",), ("--started-at", "3m ago")])
def test_declare_takes_the_start_forms_of_the_board(run, desk, clock, argv):
    status, out, err = run("declare", "Login failures", *argv)
    assert (status, out, err) == (0, "INC-1\n", "")
    assert desk.get(1).started_at == clock.now() - timedelta(minutes=3)


def test_declare_takes_a_time_of_day_and_an_iso_time(run, desk, clock):
    run("declare", "A", "--started-at", "02:12")
    run("declare", "B", "--started-at", "2026-11-27T02:00:00+01:00")
    assert desk.get(1).started_at == parse_instant("2026-11-27T02:12:00Z")
    assert desk.get(2).started_at == parse_instant("2026-11-27T01:00:00Z")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("9999-12-31T23:59:59Z", "in the future"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("-1000000d", "more than 366 days ago"),
        ("+20m", "in the future"),
    ],
)
def test_absurd_start_times_are_one_line(run, desk, value, message):
    assert message in refused(run("declare", "Login failures", f"--started-at={value}"))
    assert desk.incidents(include_closed=True) == []


def test_a_huge_incident_number_is_one_line(run, desk):
    run("declare", "Login failures")
    assert refused(run("ack", "INC-99999999999999999999")).startswith(
        "oncall-tui: no incident INC-99999999999999999999"
    )
    assert refused(run("show", "INC-99999999999999999999")).startswith("oncall-tui: no incident")


def test_a_review_at_an_impossible_instant_is_one_line(run, desk, clock):
    run("declare", "Login failures")
    assert "out of range" in refused(run("review", "INC-1", "schedule", "0001-01-01 00:00+14:00"))
    assert "in the past" in refused(run("review", "INC-1", "schedule", "2026-11-26T14:00:00Z"))
    status, out, _ = run("review", "INC-1", "schedule", "in 26h")
    assert status == 0
    assert desk.get(1).review_scheduled_for == clock.now() + timedelta(hours=26)


def test_the_start_time_is_corrected_and_every_clock_follows(run, desk, clock):
    run("declare", "Login failures", "--severity", "P1")
    clock.advance(minutes=2)
    before = desk.deadlines(desk.get(1)).get("acknowledge")
    assert before.state is State.PENDING and before.seconds_left == 180

    status, out, err = run("edit", "INC-1", "started_at", "-20m")  # it began well before it was declared
    assert status == 0, err
    assert out == "INC-1 started at 2026-11-27 02:42 UTC; its clocks count from then\n"
    inc = desk.get(1)
    assert inc.started_at == clock.now() - timedelta(minutes=20)
    assert desk.deadlines(inc).get("acknowledge").state is State.BREACHED
    event = desk.timeline(1)[-1]
    assert (event.kind, event.actor) == ("start_corrected", "alice")
    assert event.details == {"from": "2026-11-27T03:00:00Z", "to": "2026-11-27T02:42:00Z"}
    status, out, _ = run("show", "INC-1")
    assert "Start time corrected to 2026-11-27 02:42 UTC (was 2026-11-27 03:00 UTC)" in out
    assert run("verify")[0] == 0


def test_a_start_correction_must_stay_before_the_declaration(run, desk, clock):
    run("declare", "Login failures", "--started-at", "-10m")
    clock.advance(minutes=5)
    assert "was declared at 2026-11-27 03:00 UTC" in refused(run("edit", "INC-1", "started_at", "-1m"))
    assert "in the future" in refused(run("edit", "INC-1", "started_at", "+1h"))
    assert "more than 366 days ago" in refused(run("edit", "INC-1", "started_at", "-1000000d"))
    assert [e.kind for e in desk.timeline(1)] == ["declared"]


def test_no_command_reads_the_real_clock(run, desk, clock, monkeypatch, tmp_path):
    """Every command on the injected clock: one that reached for the system clock would fail here."""
    from oncall_tui.clock import SystemClock

    def refuse(self):
        raise AssertionError("the system clock was read under main(clock=...)")

    monkeypatch.setattr(SystemClock, "now", refuse)
    monkeypatch.setattr(SystemClock, "steady", refuse)
    commands = [
        ("declare", "Login failures", "--severity", "P1", "--service", "identity", "--started-at", "-3m"),
        ("list",),
        ("show", "INC-1", "--json"),
        ("ack", "INC-1"),
        ("note", "INC-1", "rolled back"),
        ("edit", "INC-1", "started_at", "-10m"),
        ("edit", "INC-1", "root_cause", "JWKS cache"),
        ("edit", "INC-1", "resolution", "refreshed"),
        ("edit", "INC-1", "prevention", "an alert on its age"),
        ("status", "INC-1", "resolved"),
        ("compose", "INC-1", "-t", "resolution"),
        ("review", "INC-1", "schedule", "in 26h"),
        ("review", "INC-1", "add", "Alert on cache age", "--due", "+1w"),
        ("report", "--json"),
        ("export", "INC-1", "--format", "json", "-o", str(tmp_path / "x.json")),
        ("verify",),
        ("demo", "--count", "3"),
    ]
    for argv in commands:
        status, _, err = run(*argv)
        assert status == 0, (argv, err)
    assert desk.timeline(1)[0].at == clock.now()
