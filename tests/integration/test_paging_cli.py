"""The paging commands as a user runs them: `oncall`, `schedule ics`, `override`, `escalate`,
`handoff`. Subprocesses use the wall clock, so assertions name no date: they compare against the
roster asked about the same moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from oncall_tui.policy import load_policy
from oncall_tui.roster import RosterSource

EXE = Path(sys.executable).with_name("oncall-tui")


@pytest.fixture
def env(db_path, config_dir):
    return {**os.environ, "ONCALL_TUI_DB": str(db_path), "ONCALL_TUI_CONFIG": str(config_dir)}


def run(env, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(EXE), *args], env=env, capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_oncall_names_who_holds_each_level_and_what_comes_next(env, config_dir):
    data = json.loads(run(env, "oncall", "--json").stdout)
    roster = RosterSource(load_policy(config_dir / "policy.toml"), config_dir).get()
    now = datetime.now(UTC)
    levels = {lv["level"]: lv for lv in data["levels"]}
    assert levels["Primary On-Call"]["person"] == roster.holder("primary", now)
    assert levels["Engineering Manager"]["person"] == "chen"
    assert levels["Primary On-Call"]["next"] != levels["Primary On-Call"]["person"]
    weeks = data["schedules"]["primary"]["shifts"]
    assert 2 <= len(weeks) <= 4 and data["schedules"]["primary"]["tz"] == "Europe/Berlin"
    assert data["watching"] == {"agents": 0, "desks": 0, "paging": 0}
    text = run(env, "oncall").stdout
    assert "NOBODY WILL BE PAGED" in text and "Primary On-Call" in text and "Europe/Berlin" in text


def test_oncall_without_people_says_how_to_add_them(db_path, tmp_path):
    env = {**os.environ, "ONCALL_TUI_DB": str(db_path), "ONCALL_TUI_CONFIG": str(tmp_path / "empty")}
    out = run(env, "oncall").stdout
    assert "No one can be paged: there is no people.toml" in out and "README" in out


def test_a_broken_schedules_file_is_named_with_its_line(env, config_dir):
    path = config_dir / "schedules.toml"
    path.write_text(path.read_text().replace('tz = "Europe/Berlin"', 'tz = "Europe/Berlim"'))
    result = run(env, "oncall")
    assert "schedules.toml, line 2: unknown time zone 'Europe/Berlim'" in result.stderr


def test_schedule_ics_is_a_calendar_with_each_shift(env, tmp_path):
    out = tmp_path / "oncall.ics"
    run(env, "schedule", "ics", "--schedule", "primary", "--days", "28", "-o", str(out))
    cal = Calendar.from_ical(out.read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    assert 4 <= len(events) <= 5
    summaries = {str(e["SUMMARY"]) for e in events}
    assert summaries == {"On call: Ava Jones (primary)", "On call: Ben Okafor (primary)"}
    for e in events[1:]:
        start = e.decoded("DTSTART").astimezone(ZoneInfo("Europe/Berlin"))
        assert (start.weekday(), start.hour, start.minute) == (0, 10, 0)  # Monday 10:00 Berlin, DST or not
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_override_add_list_cancel_is_an_audit_trail(env):
    added = run(env, "override", "add", "primary", "chen", "--hours", "3", "--covering", "ava", "--reason", "flight")
    assert added.stdout.startswith("#1 ")
    data = json.loads(run(env, "oncall", "--json").stdout)
    assert data["levels"][0]["person"] == "chen"
    clash = run(env, "override", "add", "primary", "ben", "--hours", "1", ok=False)
    assert clash.returncode == 1 and "overlaps override #1" in clash.stderr
    run(env, "override", "cancel", "1")
    assert "No live overrides." in run(env, "override", "list").stdout
    (row,) = json.loads(run(env, "override", "list", "--all", "--json").stdout)
    assert row["cancelled_by"] == "alice" and row["created_by"] == "alice" and row["covering"] == "ava"
    assert "CANCELLED by alice" in run(env, "override", "list", "--all").stdout
    bad = run(env, "override", "add", "primary", "zed", "--hours", "1", ok=False)
    assert "'zed' is not in people.toml" in bad.stderr


def test_escalate_pages_a_person_now_and_reports_the_delivery(env, smtp):
    run(env, "declare", "Queue backlog", "--severity", "P2")
    out = run(env, "escalate", "INC-1", "--person", "ben", "--note", "can you look?").stdout
    assert "ben — delivered" in out and "Sent Email to ben@example.com" in out
    (mail,) = smtp.wait_for("ben@example.com")
    assert "can you look?" in mail.body and "oncall-tui ack INC-1" in mail.body
    shown = run(env, "show", "INC-1").stdout
    assert "Paging Ben Okafor as Primary On-Call (by hand: can you look?)" in shown
    assert "Page delivered to Ben Okafor" in shown
    assert run(env, "verify").returncode == 0


def test_handoff_prints_the_brief(env):
    run(env, "declare", "Login failures", "--severity", "P1")
    run(env, "ack", "INC-1")
    out = run(env, "handoff").stdout
    assert out.startswith("Handoff brief")
    assert True
    assert "Notify stakeholders: due" in out and "escalates to Secondary On-Call" in out
    assert "Active silences: none" in out and "Action items due within a week: none." in out


def test_the_agent_pages_a_new_incident_says_it_is_alive_and_leaves_cleanly(env, smtp):
    agent = subprocess.Popen([str(EXE), "agent"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "paging 3 people, 2 schedules" in agent.stdout.readline()
        started = time.monotonic()
        run(env, "declare", "Login failures", "--severity", "P1")
        data = json.loads(run(env, "oncall", "--json").stdout)
        holder = data["levels"][0]["person"]
        smtp.wait_for(f"{holder}@example.com", timeout=10)
        assert time.monotonic() - started < 15  # bench_paging measures the latency; this is a loaded CI box
        assert data["watching"]["agents"] == 1
        assert "Agent alive (1)" in run(env, "oncall").stdout
    finally:
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    assert "paging INC-1:L0" in out and "delivered" in out
    assert json.loads(run(env, "oncall", "--json").stdout)["watching"]["agents"] == 0
