"""The real `oncall-tui` executable, run as a user would run it from a shell.

These use the wall clock (a subprocess cannot share a FrozenClock), so assertions about time allow
a few seconds of slack and never wait for anything.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from oncall_tui import __version__

EXE = Path(sys.executable).with_name("oncall-tui")
SLACK = 30  # seconds: the time between computing --started-at and `show` running


def run(cli_env, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(EXE), *args], env=cli_env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    if ok:
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    return result


def refused(cli_env, *args: str) -> str:
    """Run a command that must fail: exactly one line on stderr, nothing on stdout, non-zero exit."""
    result = run(cli_env, *args, ok=False)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("oncall-tui: ")
    return lines[0]


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def show(cli_env, ref: str = "INC-1") -> dict:
    return json.loads(run(cli_env, "show", ref, "--json").stdout)


def by_name(shown: dict) -> dict[str, dict]:
    return {d["name"]: d for d in shown["deadlines"]}


def test_the_executable_is_the_installed_one():
    assert EXE.is_file(), f"{EXE} missing: is the package installed in this venv?"


def test_done_when_a_p0_declared_twenty_minutes_late(cli_env):
    out = run(
        cli_env, "declare", "Login failures", "--severity", "P0", "--service", "identity", "--started-at", ago(20)
    )
    assert out.stdout == "INC-1\n"

    shown = show(cli_env)
    assert (shown["id"], shown["title"], shown["severity"], shown["status"]) == (
        "INC-1",
        "Login failures",
        "P0",
        "triggered",
    )
    assert shown["services"] == ["identity"]
    dl = by_name(shown)

    ack = dl["acknowledge"]
    assert ack["state"] == "breached"
    assert abs(ack["seconds_overdue"] - 15 * 60) <= SLACK
    assert ack["seconds_left"] == 0 and ack["done_at"] is None

    assert dl["severity"]["state"] == "met"
    # Stakeholders: 15 min from the start, so 5 min overdue.
    assert dl["stakeholders"]["state"] == "breached"
    assert abs(dl["stakeholders"]["seconds_overdue"] - 5 * 60) <= SLACK

    assert shown["escalation"]["level"] == "Secondary On-Call"
    assert shown["escalation"]["contact"]
    assert shown["escalation"]["next_level"] == "Engineering Manager"
    assert [e["kind"] for e in shown["timeline"]] == ["declared"]
    assert shown["timeline"][0]["actor"] == "alice"


def test_declare_records_everything_it_is_given(cli_env):
    started = ago(3)
    run(
        cli_env,
        "declare",
        "Governance operations failing",
        "--severity",
        "p1",
        "--service",
        "compliance",
        "--service",
        "api",
        "--impact",
        "legal holds fail",
        "--channel",
        "#inc-compliance",
        "--assignee",
        "bob",
        "--symptom",
        "compliance-service-failure",
        "--started-at",
        started,
    )
    shown = show(cli_env, "inc-1")
    assert shown["severity"] == "P1"
    assert shown["services"] == ["compliance", "api"]
    assert (shown["impact"], shown["channel"], shown["assignee"], shown["symptom"]) == (
        "legal holds fail",
        "#inc-compliance",
        "bob",
        "compliance-service-failure",
    )
    assert shown["started_at"] == started.replace("+00:00", "Z")


def test_declare_without_severity_starts_the_severity_clock(cli_env):
    run(cli_env, "declare", "Something is off")
    shown = show(cli_env)
    assert shown["severity"] is None
    assert by_name(shown)["severity"]["state"] == "pending"
    assert by_name(shown)["stakeholders"]["state"] == "not_applicable"
    assert 14 * 60 - SLACK <= by_name(shown)["severity"]["seconds_left"] <= 15 * 60


def test_declare_json_prints_the_incident(cli_env):
    out = json.loads(run(cli_env, "declare", "Slow search", "--severity", "P3", "--json").stdout)
    assert (out["id"], out["severity"], out["status"]) == ("INC-1", "P3", "triggered")


def test_triage_from_the_shell(cli_env):
    run(cli_env, "declare", "Login failures", "--service", "identity")
    assert run(cli_env, "ack", "INC-1").stdout == "INC-1 acknowledged by alice\n"
    assert run(cli_env, "severity", "INC-1", "p1").stdout == "INC-1 is P1\n"
    assert run(cli_env, "status", "INC-1", "investigating").stdout == "INC-1 is investigating\n"
    assert (
        run(cli_env, "edit", "INC-1", "root_cause", "JWKS cache not refreshed").stdout == "INC-1 root_cause updated\n"
    )
    run(cli_env, "edit", "INC-1", "resolution", "flushed the cache")
    run(cli_env, "edit", "INC-1", "services", "identity, redis")
    assert run(cli_env, "note", "INC-1", "rolled back auth-service to 1.42").stdout == "note added to INC-1\n"
    assert run(cli_env, "status", "INC-1", "resolved").stdout == "INC-1 is resolved\n"

    shown = show(cli_env)
    assert shown["status"] == "resolved"
    assert shown["services"] == ["identity", "redis"]
    assert (shown["root_cause"], shown["resolution"]) == ("JWKS cache not refreshed", "flushed the cache")
    assert [e["kind"] for e in shown["timeline"]] == [
        "declared",
        "acknowledged",
        "severity_set",
        "status_changed",
        "field_edited",
        "field_edited",
        "field_edited",
        "note",
        "status_changed",
    ]
    assert shown["timeline"][7]["details"] == {"text": "rolled back auth-service to 1.42"}
    assert by_name(shown)["review"]["state"] == "pending"
    # A P1 is not closed before its review.
    line = refused(cli_env, "status", "INC-1", "closed")
    assert "post-incident review" in line


def test_show_prints_fields_deadlines_and_timeline(cli_env):
    run(cli_env, "declare", "Login failures", "--severity", "P0", "--service", "identity", "--started-at", ago(20))
    out = run(cli_env, "show", "INC-1").stdout
    assert out.startswith("INC-1  Login failures\n")
    assert "  severity   P0\n" in out
    assert "  services   identity\n" in out
    assert "  escalation Secondary On-Call" in out
    deadlines = out.split("\ndeadlines\n")[1].split("\ntimeline\n")[0]
    assert "Acknowledge" in deadlines and "breached" in deadlines and "overdue" in deadlines
    assert "Notify stakeholders" in deadlines
    assert "Next update" not in deadlines  # not applicable: not listed
    timeline = out.split("\ntimeline\n")[1]
    assert timeline.endswith(" alice        Declared as P0: Login failures (identity)\n")  # a sentence, not JSON


def test_list_orders_breaches_first_and_hides_closed(cli_env):
    assert run(cli_env, "list").stdout == "No open incidents.\n"
    run(cli_env, "declare", "Typo on status page", "--severity", "P3")
    run(cli_env, "declare", "Login failures", "--severity", "P0", "--started-at", ago(20))
    run(cli_env, "declare", "Old one", "--severity", "P3")
    run(cli_env, "ack", "INC-3")
    run(cli_env, "edit", "INC-3", "root_cause", "x")
    run(cli_env, "edit", "INC-3", "resolution", "y")
    run(cli_env, "status", "INC-3", "resolved")
    run(cli_env, "status", "INC-3", "closed")

    lines = run(cli_env, "list").stdout.splitlines()
    assert lines[0].split()[:5] == ["ID", "SEV", "STATUS", "NEXT", "DEADLINE"]
    assert [line.split()[0] for line in lines[1:]] == ["INC-2", "INC-1"]
    assert "OVERDUE" in lines[1]

    listed = json.loads(run(cli_env, "list", "--json").stdout)
    assert [i["id"] for i in listed] == ["INC-2", "INC-1"]
    assert listed[0]["escalation"]["level"] == "Secondary On-Call"
    assert {d["name"] for d in listed[0]["deadlines"]} >= {"acknowledge", "severity", "stakeholders", "review"}

    everything = json.loads(run(cli_env, "list", "--all", "--json").stdout)
    assert sorted(i["id"] for i in everything) == ["INC-1", "INC-2", "INC-3"]


def test_the_actor_is_oncall_tui_user(cli_env):
    run(cli_env, "declare", "Login failures")
    run({**cli_env, "ONCALL_TUI_USER": "carol"}, "ack", "INC-1")
    assert show(cli_env)["acknowledged_by"] == "carol"


def test_db_option_overrides_the_environment(cli_env, tmp_path):
    other = tmp_path / "elsewhere" / "desk.db"
    run(cli_env, "declare", "Login failures", "--db", str(other))
    assert other.is_file()
    assert run(cli_env, "list").stdout == "No open incidents." + "\n"
    assert run(cli_env, "--db", str(other), "list").stdout.count("INC-1") == 1


def test_version(cli_env):
    assert run(cli_env, "--version").stdout == f"oncall-tui {__version__}\n"


def test_help_is_readable(cli_env):
    narrow = {**cli_env, "COLUMNS": "80"}  # what a phone over SSH or a tmux split gives
    out = run(narrow, "--help").stdout
    assert out.startswith("usage: oncall-tui")
    assert "on-call desk" in out
    for command in ("declare", "list", "show", "ack", "severity", "status", "edit", "note"):
        assert f"\n    {command} " in out, command
    assert "examples:" in out and "ONCALL_TUI_USER" in out
    assert max(len(line) for line in out.splitlines()) <= 80

    declare = run(narrow, "declare", "--help").stdout
    assert max(len(line) for line in declare.splitlines()) <= 80
    for option in ("--severity", "--service", "--impact", "--started-at", "--symptom"):
        assert option in declare
    assert "-20m, 20m ago, 03:12 or an ISO time" in " ".join(declare.split())  # the declare form's forms


# --- bad input: one clear line, non-zero exit, no traceback -----------------------------------


def test_unknown_severity(cli_env):
    assert refused(cli_env, "declare", "Login failures", "--severity", "P7") == (
        "oncall-tui: unknown severity 'P7': use P0 (critical), P1 (high), P2 (medium) or P3 (low)"
    )
    assert run(cli_env, "list").stdout == "No open incidents.\n"  # nothing was declared
    run(cli_env, "declare", "Login failures")
    assert "unknown severity 'urgent'" in refused(cli_env, "severity", "INC-1", "urgent")


def test_unknown_incident(cli_env):
    assert refused(cli_env, "show", "INC-9") == "oncall-tui: no incident INC-9"
    assert refused(cli_env, "ack", "INC-9") == "oncall-tui: no incident INC-9"
    assert "not an incident id: 'banana'" in refused(cli_env, "show", "banana")


def test_malformed_date(cli_env):
    line = refused(cli_env, "declare", "Login failures", "--started-at", "yesterday")
    assert "cannot read 'yesterday' as a time: use -20m, 20m ago, 03:12" in line
    assert "2999-01-01T00:00:00Z is in the future" in refused(
        cli_env, "declare", "Login failures", "--started-at", "2999-01-01T00:00:00Z"
    )


def test_unknown_status(cli_env):
    run(cli_env, "declare", "Login failures")
    assert "unknown status 'fixed'" in refused(cli_env, "status", "INC-1", "fixed")
    assert refused(cli_env, "status", "INC-1", "resolved") == "oncall-tui: INC-1 must be acknowledged first"


def test_unwritable_paths(cli_env, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for db in (a_file / "desk.db", Path("/proc/no-such-dir/desk.db"), Path("/proc/desk.db")):
        line = refused(cli_env, "--db", str(db), "declare", "Login failures")
        assert str(db.parent) in line, line
    assert refused(cli_env, "--db", str(a_file / "desk.db"), "list") == (
        f"oncall-tui: cannot create {a_file / 'desk.db'}: {a_file} is a file, not a folder"
    )
    assert a_file.read_text() == "not a folder"


def test_a_foreign_database(cli_env, tmp_path):
    import sqlite3

    path = tmp_path / "photos.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    line = refused(cli_env, "--db", str(path), "list")
    assert "not an oncall-tui desk database" in line
    assert path.read_bytes() == before


def test_a_broken_policy_file(cli_env, tmp_path):
    bad = tmp_path / "policy.toml"
    bad.write_text("[deadlines\n")
    line = refused(cli_env, "--policy", str(bad), "list")
    assert str(bad) in line and "line 1" in line


def test_a_policy_file_changes_the_clocks(cli_env, tmp_path):
    mine = tmp_path / "policy.toml"
    mine.write_text(
        "[deadlines]\nacknowledge_minutes = 30\n\n[[escalation]]\nafter_minutes = 0\n"
        'level = "Primary On-Call"\ncontact = "Dana, +1 555 0100"\n'
    )
    run(cli_env, "declare", "Login failures", "--severity", "P0", "--started-at", ago(20))
    shown = json.loads(run(cli_env, "--policy", str(mine), "show", "INC-1", "--json").stdout)
    assert by_name(shown)["acknowledge"]["state"] == "pending"
    assert abs(by_name(shown)["acknowledge"]["seconds_left"] - 10 * 60) <= SLACK
    assert shown["escalation"] == {
        "level": "Primary On-Call",
        "contact": "Dana, +1 555 0100",
        "next_level": None,
        "next_at": None,
    }


# --- triage: tenants, roles, the suggestion ---------------------------------------------------------


def test_declare_with_tenants_and_roles_shows_them_and_json_has_them(cli_env):
    run(cli_env, "declare", "Login down for acme", "--impact", "Complete outage at acme", "--tenants", "acme")
    assert run(cli_env, "role", "INC-1", "commander", "dana").stdout == "INC-1 incident commander: dana\n"
    assert run(cli_env, "role", "INC-1", "ic", "--clear").stdout == "INC-1 has no incident commander now\n"
    run(cli_env, "role", "INC-1", "scribe", "sam")
    run(cli_env, "edit", "INC-1", "tenants", "40: acme, globex")
    shown = run(cli_env, "show", "INC-1").stdout
    assert "  tenants    40 tenants: acme, globex\n" in shown
    assert "  Scribe     sam\n" in shown and "  Incident commander —\n" in shown
    assert "  suggested  P0: Complete service outage affecting multiple tenants (40 tenants affected)\n" in shown
    assert "Scribe: sam" in shown.split("\ntimeline\n")[1]
    doc = json.loads(run(cli_env, "show", "INC-1", "--json").stdout)
    assert (doc["tenants"], doc["tenant_count"], doc["roles"]) == (["acme", "globex"], 40, {"scribe": "sam"})
    assert "unknown role 'chef'" in refused(cli_env, "role", "INC-1", "chef", "x")


def test_severity_without_a_value_says_what_the_runbook_suggests_and_sets_nothing(cli_env):
    run(cli_env, "declare", "Checkout", "--impact", "Complete service outage affecting multiple tenants")
    out = run(cli_env, "severity", "INC-1").stdout
    assert out == (
        "INC-1 is not determined; the runbook suggests P0: Complete service outage affecting multiple tenants"
        ' (says "multiple tenants")\nconfirm with: oncall-tui severity INC-1 P0\n'
    )
    assert json.loads(run(cli_env, "show", "INC-1", "--json").stdout)["severity"] is None
    assert run(cli_env, "severity", "INC-1", "critical").stdout == "INC-1 is P0\n"
    run(cli_env, "declare", "Disk", "--severity", "high")
    assert json.loads(run(cli_env, "show", "INC-2", "--json").stdout)["severity"] == "P1"


def test_list_shows_the_whole_deadline(cli_env):
    run(cli_env, "declare", "Login failures", "--severity", "P0", "--started-at", ago(20))
    run(cli_env, "declare", "Checkout errors", "--severity", "P0", "--started-at", ago(3))
    run(cli_env, "ack", "INC-1")
    run(cli_env, "ack", "INC-2")
    lines = run(cli_env, "list").stdout.splitlines()
    overdue = next(line for line in lines if line.startswith("INC-1"))
    assert re.search(r"Notify stakeholders OVERDUE \d+m\d\ds ", overdue), overdue  # the amount, not a bare OVERDUE
    fresh = next(line for line in lines if line.startswith("INC-2"))
    assert re.search(r"Notify stakeholders in \d+m\d\ds ", fresh), fresh  # "in 11m51s", not "in 11m51"
