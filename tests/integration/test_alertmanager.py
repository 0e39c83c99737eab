"""Against a real Alertmanager: alerts become incidents, acknowledgements become silences.

Alerts are fired through Alertmanager's own API (as Prometheus does), the desk pulls them through
`Intake` (as the board's poller and `oncall-tui pull` do), and what Alertmanager then holds is read
back from its API.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pilot_helpers import board_text, until

from oncall_tui.alerts.client import AlertmanagerClient
from oncall_tui.alerts.intake import Intake
from oncall_tui.alerts.mapping import runbook_matcher
from oncall_tui.alerts.poller import State
from oncall_tui.config import DeskOptions
from oncall_tui.model import Severity, Status
from oncall_tui.runbooks import RunbookLibrary

pytestmark = [pytest.mark.anyio, pytest.mark.alertmanager]

EXE = Path(sys.executable).with_name("oncall-tui")
IDENTITY = {"alertname": "IdentityServiceDown", "severity": "critical", "service": "identity", "instance": "idp-1:443"}
DISK = {"alertname": "DiskFilling", "severity": "unknown-level", "job": "node", "instance": "db-2:9100"}


async def pull(desk, am, *, intake: Intake | None = None):
    async with AlertmanagerClient(am.url, timeout=5) as client:
        matcher = runbook_matcher(RunbookLibrary(), desk.policy.alerts)
        if intake is None:
            return await Intake(desk, client, matcher=matcher).pull()
        intake.client = client
        return await intake.pull()


def kinds(desk, number):
    return [e.kind for e in desk.timeline(number)]


async def test_firing_alerts_become_incidents_with_severity_runbook_and_start_time(alertmanager, live_desk):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    alertmanager.fire(IDENTITY, annotations={"summary": "Users cannot log in"}, starts_at=began)
    alertmanager.fire(DISK, starts_at=began + timedelta(minutes=1))

    result = await pull(live_desk, alertmanager)

    assert result.alerts == 2 and [c.kind for c in result.changes] == ["declared", "declared"]
    login, disk = live_desk.incidents()
    assert login.title == "Users cannot log in"
    assert login.severity is Severity.P1
    assert login.symptom == "identity-service-outage"  # matched by alert name in the runbook's front matter
    assert login.started_at == began  # the acknowledgement clock counts from when the alert began
    assert login.services == ("identity",)
    assert login.labels == IDENTITY
    fingerprints = {a["labels"]["alertname"]: a["fingerprint"] for a in alertmanager.alerts()}
    assert login.fingerprint == fingerprints["IdentityServiceDown"]
    assert disk.title == "DiskFilling" and disk.severity is None  # undetermined: its 15-minute clock runs
    assert disk.services == ("node",)
    ack = next(d for d in live_desk.deadlines(login).items if d.key == "acknowledge")
    assert ack.due_at == began + timedelta(minutes=5)


async def test_a_repeat_firing_dedups(alertmanager, live_desk, live_clock):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    alertmanager.fire(IDENTITY, starts_at=began)
    await pull(live_desk, alertmanager)
    events = len(live_desk.timeline(1))

    live_clock.advance(seconds=30)
    alertmanager.fire(IDENTITY, starts_at=began)  # Prometheus re-sends every evaluation
    result = await pull(live_desk, alertmanager)

    assert result.changes == () and result.alerts == 1
    assert len(live_desk.incidents()) == 1 and len(live_desk.timeline(1)) == events


async def test_acknowledging_creates_a_silence_and_resolving_expires_it(alertmanager, live_desk, live_clock):
    alertmanager.fire(IDENTITY)
    await pull(live_desk, alertmanager)
    live_desk.acknowledge(1)

    result = await pull(live_desk, alertmanager)

    assert [c.kind for c in result.changes] == ["silence_created"]
    inc = live_desk.get(1)
    (silence,) = alertmanager.silences()
    assert silence["id"] == inc.silence_id and silence["status"]["state"] == "active"
    assert "INC-1" in silence["comment"] and silence["createdBy"] == "alice"
    assert {m["name"]: m["value"] for m in silence["matchers"]} == IDENTITY
    assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs(ends - (live_clock.now() + timedelta(minutes=120))) < timedelta(seconds=2)
    alertmanager.wait_for(
        lambda: alertmanager.alerts()[0]["status"]["silencedBy"] == [inc.silence_id],
        "the alert silenced by the desk's silence",
    )
    assert (await pull(live_desk, alertmanager)).changes == ()  # its own silence is not "someone else's"

    live_desk.edit(1, "root_cause", "expired signing key")
    live_desk.edit(1, "resolution", "rotated the key")
    live_desk.move(1, Status.RESOLVED)
    result = await pull(live_desk, alertmanager)

    assert [c.kind for c in result.changes] == ["silence_expired"]
    assert alertmanager.silences()[0]["status"]["state"] == "expired"
    assert live_desk.get(1).silence_id == ""
    assert kinds(live_desk, 1)[-1] == "silence_expired"


async def test_a_resolved_alert_is_flagged_on_its_incident_not_resolved(alertmanager, live_desk):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    alertmanager.fire(IDENTITY, starts_at=began)
    await pull(live_desk, alertmanager)

    alertmanager.resolve(IDENTITY, began)
    result = await pull(live_desk, alertmanager)

    assert result.alerts == 0
    assert [c.kind for c in result.changes] == ["alert_resolved"]
    inc = live_desk.get(1)
    assert inc.alert_state == "resolved"
    assert inc.status is Status.TRIGGERED and inc.resolved_at is None  # the engineer confirms
    assert (await pull(live_desk, alertmanager)).changes == ()


async def test_an_alert_that_fires_again_goes_on_the_same_timeline(alertmanager, live_desk):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    alertmanager.fire(IDENTITY, starts_at=began)
    await pull(live_desk, alertmanager)
    alertmanager.resolve(IDENTITY, began)
    await pull(live_desk, alertmanager)

    alertmanager.fire(IDENTITY, starts_at=began + timedelta(minutes=2))
    result = await pull(live_desk, alertmanager)

    assert [c.kind for c in result.changes] == ["alert_refired"]
    assert len(live_desk.incidents()) == 1
    assert live_desk.get(1).alert_state == "firing"


async def test_another_desks_silence_is_shown_with_who_set_it(alertmanager, live_desk, live_clock):
    alertmanager.fire(DISK)
    now = datetime.now(UTC)
    alertmanager.call(
        "POST",
        "/api/v2/silences",
        {
            "matchers": [{"name": "alertname", "value": "DiskFilling", "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "carol",
            "comment": "disk swap in progress",
        },
    )
    alertmanager.wait_for(lambda: alertmanager.alerts()[0]["status"]["silencedBy"], "the alert silenced")
    intake_desk = live_desk

    result = await pull(intake_desk, alertmanager)

    # A person's silence is a maintenance window: recorded, clocks off, until the alert goes live.
    assert [c.kind for c in result.changes] == ["declared", "maintenance_began"]
    note = live_desk.timeline(1)[-1]
    assert "silenced by carol" in note.details["why"] and live_desk.get(1).alert_state == "maintenance"
    (shown,) = live_desk.store.alert_silences(1)
    assert (shown["created_by"], shown["comment"], shown["own"]) == ("carol", "disk swap in progress", 0)
    live_desk.acknowledge(1)
    assert (await pull(live_desk, alertmanager)).changes == ()  # covered already: no second silence
    assert len(alertmanager.silences()) == 1


async def test_grouped_alerts_share_one_incident_and_one_silence(alertmanager, live_desk):
    live_desk.policy = replace(live_desk.policy, alerts=replace(live_desk.policy.alerts, group_by=("alertname",)))
    alertmanager.fire({**IDENTITY, "instance": "idp-1:443"})
    alertmanager.fire({**IDENTITY, "instance": "idp-2:443"})
    await pull(live_desk, alertmanager)
    (inc,) = live_desk.incidents()
    live_desk.acknowledge(inc.number)

    await pull(live_desk, alertmanager)

    (silence,) = alertmanager.silences()
    assert [(m["name"], m["value"]) for m in silence["matchers"]] == [("alertname", "IdentityServiceDown")]
    alertmanager.wait_for(
        lambda: all(a["status"]["silencedBy"] for a in alertmanager.alerts()), "both alerts silenced by the one silence"
    )


def test_cli_pull_prints_what_changed(alertmanager, cli_env):
    alertmanager.fire(IDENTITY, annotations={"summary": "Users cannot log in"})
    run = [str(EXE), "pull", "--alertmanager", alertmanager.url]

    first = subprocess.run(run, env=cli_env, capture_output=True, text=True, timeout=60)
    again = subprocess.run(run, env=cli_env, capture_output=True, text=True, timeout=60)

    assert first.returncode == 0, first.stderr
    assert "INC-1 declared from alert IdentityServiceDown: Users cannot log in (P1, identity)" in first.stdout
    assert again.returncode == 0 and again.stdout.strip() == "Nothing new (1 alert in Alertmanager)."


def test_cli_pull_json_and_without_a_url(alertmanager, cli_env):
    alertmanager.fire(DISK)
    done = subprocess.run(
        [str(EXE), "pull", "--alertmanager", alertmanager.url, "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = json.loads(done.stdout)
    assert out["alerts"] == 1 and out["problems"] == [] and out["skipped"] is False
    assert [(c["kind"], c["incident"]) for c in out["changes"]] == [("declared", "INC-1")]

    bare = subprocess.run([str(EXE), "pull"], env=cli_env, capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2
    assert "no Alertmanager to pull from: pass --alertmanager URL" in bare.stderr


async def test_two_desks_on_one_file_never_declare_the_same_alert_twice(
    alertmanager, live_desk, db_path, policy, live_clock
):
    from oncall_tui.desk import Desk

    alertmanager.fire(IDENTITY)
    other = Desk.open(db_path, policy=policy, clock=live_clock, actor="bob")
    try:
        async with AlertmanagerClient(alertmanager.url) as a, AlertmanagerClient(alertmanager.url) as b:
            first, second = await asyncio.gather(Intake(live_desk, a).pull(), Intake(other, b).pull())
        assert sorted([first.skipped, second.skipped]) == [False, True]  # one imported, one stood back
        assert len(live_desk.incidents()) == 1
        async with AlertmanagerClient(alertmanager.url) as b:
            assert (await Intake(other, b).pull()).changes == ()  # and sees the first desk's incident
    finally:
        other.close()


def test_cli_pull_says_why_when_alertmanager_is_unreachable(cli_env):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = [str(EXE), "pull", "--alertmanager", f"127.0.0.1:{port}"]

    done = subprocess.run(run, env=cli_env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"oncall-tui: Alertmanager at 127.0.0.1:{port}: connection refused"


async def test_board_shows_a_new_alert_and_the_indicator_and_ack_silences(alertmanager, live_desk, live_clock, db_path):
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.alert_source import AlertSource

    alertmanager.fire(IDENTITY, annotations={"summary": "Users cannot log in"})
    app = OncallApp(live_desk, DeskOptions(db_path=db_path, alertmanager_url=alertmanager.url), clock=live_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.query_one(AlertSource)
        await until(pilot, lambda: source.poller.health.state is State.OK, "the first poll")
        assert source.describe() == "AM ok 0s"
        assert "AM ok" in source.render().plain
        await until(pilot, lambda: "Users cannot log in" in board_text(app), "the alert on the board")

        app.board_screen.selected = 1
        await pilot.press("a")
        await until(pilot, lambda: live_desk.get(1).silence_id, "the silence recorded")
        (silence,) = alertmanager.silences()
        assert "INC-1" in silence["comment"]

        live_clock.advance(seconds=3)
        app.tick()
        await pilot.pause()
        assert source.describe() == "AM ok 3s"
