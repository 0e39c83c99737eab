"""Alertmanager as production runs it: an HA pair gossiping on loopback, restarts, silences' lives.

Two real Alertmanagers in a cluster (`--cluster.listen-address` / `--cluster.peer`), alerts fired
into both as Prometheus does, and desks each with their own database file, as on two machines.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.alerts.client import AlertmanagerClient
from oncall_tui.alerts.intake import Intake
from oncall_tui.alerts.poller import State, describe_cluster
from oncall_tui.desk import Desk
from oncall_tui.model import Status

pytestmark = [pytest.mark.anyio, pytest.mark.alertmanager]

LOGIN = {"alertname": "IdentityServiceDown", "severity": "critical", "service": "identity", "instance": "idp-1:443"}
DISK = {"alertname": "DiskFilling", "severity": "warning", "job": "node", "instance": "db-2:9100"}
QUEUE = {"alertname": "QueueBacklog", "severity": "critical", "service": "billing", "instance": "mq-1:5672"}
POLL_SECONDS = 1.0  # the desks' poll interval here; "within two polls" is measured against it


def tuned(policy, **alerts):
    return replace(policy, alerts=replace(policy.alerts, poll_seconds=POLL_SECONDS, **alerts))


def open_desk(tmp_path, name, policy, clock, actor) -> Desk:
    return Desk.open(tmp_path / f"{name}.db", policy=policy, clock=clock, actor=actor)


def intake(desk, *ams) -> Intake:
    return Intake(desk, [AlertmanagerClient(am.url, timeout=5) for am in ams])


def fire_all(cluster, labels, *, starts_at=None, **kw):
    # Prometheus sends every alert to every Alertmanager of the cluster, with the one start it saw.
    starts_at = starts_at or datetime.now(UTC)
    for am in cluster.members:
        am.fire(labels, starts_at=starts_at, **kw)


def numbered(desk, title) -> int:
    (number,) = [i.number for i in desk.incidents() if i.title == title]
    return number


def kinds(desk, number):
    return [e.kind for e in desk.timeline(number)]


async def test_an_ack_on_desk_a_stops_desk_bs_clocks_within_two_polls(am_cluster, tmp_path, policy, live_clock):
    am1, am2 = am_cluster.members
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    fire_all(am_cluster, LOGIN, starts_at=began)
    policy = tuned(policy)
    desk_a = open_desk(tmp_path, "desk-a", policy, live_clock, "alice")
    desk_b = open_desk(tmp_path, "desk-b", policy, live_clock, "bob")
    a, b = intake(desk_a, am1), intake(desk_b, am2)
    try:
        await a.pull()
        await b.pull()
        assert desk_a.get(1).status is Status.TRIGGERED and desk_b.get(1).status is Status.TRIGGERED

        desk_a.acknowledge(1)
        assert [c.kind for c in (await a.pull()).changes] == ["silence_created"]
        silence_id = desk_a.get(1).silence_id

        polls = 0
        while desk_b.get(1).status is Status.TRIGGERED and polls < 2:
            if polls:
                await asyncio.sleep(POLL_SECONDS)
            polls += 1
            await b.pull()
        inc = desk_b.get(1)
        assert inc.status is Status.ACKNOWLEDGED, "desk B still triggered after two polls"
        assert inc.acknowledged_by == "alice"  # in the name of whoever acknowledged on desk A
        ack = desk_b.deadlines(inc).get("acknowledge")
        assert not ack.running and ack.done_at == inc.acknowledged_at
        live_clock.advance(minutes=10)  # past the 5-minute clock: a missed one would page the secondary
        later = desk_b.deadlines(desk_b.get(1))
        assert not later.get("acknowledge").running and later.escalation.index == 0
        event = desk_b.timeline(1)[-1]
        assert event.kind == "acknowledged" and event.details["silence_id"] == silence_id
        (shown,) = desk_b.store.alert_silences(1)
        assert (shown["silence_id"], shown["created_by"], shown["own"]) == (silence_id, "alice", 0)

        assert (await b.pull()).changes == ()  # desk B makes no silence of its own over desk A's
        assert len(am2.silences()) == 1
    finally:
        await a.aclose()
        await b.aclose()
        desk_a.close()
        desk_b.close()


async def test_killing_one_alertmanager_loses_no_incident_and_keeps_intake_going(
    am_cluster, tmp_path, policy, live_clock
):
    am1, am2 = am_cluster.members
    fire_all(am_cluster, LOGIN)
    am1.fire(DISK)  # Prometheus's send to am2 was lost: only am1 has this one
    desk = open_desk(tmp_path, "desk", tuned(policy), live_clock, "alice")
    both = intake(desk, am1, am2)
    try:
        first = await both.pull()
        assert [c.kind for c in first.changes] == ["declared", "declared"]
        assert first.alerts == 2  # merged by fingerprint: LOGIN from both is one alert
        assert [h.state for h in both.health] == [State.OK, State.OK]
        assert describe_cluster(both.health, live_clock.now()) == "2/2"

        am1.kill()
        live_clock.advance(seconds=POLL_SECONDS)
        result = await both.pull()

        assert result.changes == ()  # nothing "stopped": DISK was last seen on the Alertmanager now down
        assert [i.alert_state for i in desk.incidents()] == ["", ""]
        h1, h2 = both.health
        assert h1.state is State.DOWN and "connection refused" in h1.error and h2.state is State.OK
        assert describe_cluster(both.health, live_clock.now()) == "1/2"

        am2.fire(QUEUE)  # Prometheus goes on sending to the survivor
        live_clock.advance(seconds=POLL_SECONDS)
        result = await both.pull()
        assert [c.kind for c in result.changes] == ["declared"]
        assert [i.title for i in desk.incidents()][-1] == "QueueBacklog"

        # And an acknowledgement still becomes a silence, on the survivor. (Numbered by title: DISK,
        # fired within the same millisecond as LOGIN, may have been declared first.)
        login = numbered(desk, "IdentityServiceDown")
        desk.acknowledge(login)
        live_clock.advance(seconds=POLL_SECONDS)
        result = await both.pull()
        assert [c.kind for c in result.changes] == ["silence_created"]
        assert [s["id"] for s in am2.silences()] == [desk.get(login).silence_id]
        assert len(desk.incidents()) == 3  # no incident lost, none twice
    finally:
        await both.aclose()
        desk.close()


async def test_a_restarted_alertmanager_raises_no_false_stopped_flags(alertmanager, tmp_path, policy, live_clock):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for labels in (LOGIN, DISK, QUEUE):
        alertmanager.fire(labels, starts_at=began)
    desk = open_desk(tmp_path, "desk", tuned(policy, restart_grace_seconds=60), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        assert len(desk.incidents()) == 3

        alertmanager.restart()  # back empty: alerts live in memory; Prometheus re-sends within a minute
        assert alertmanager.alerts() == []
        live_clock.advance(seconds=POLL_SECONDS)
        result = await one.pull()

        assert result.changes == ()
        assert [i.alert_state for i in desk.incidents()] == ["", "", ""]
        (health,) = one.health
        assert health.in_grace(live_clock.now()) and health.restarts == 1
        assert describe_cluster(one.health, live_clock.now()) == "restarted, settling 1m00s"

        for labels in (LOGIN, DISK):  # Prometheus re-sends what still fires; QUEUE stopped meanwhile
            alertmanager.fire(labels, starts_at=began)
        live_clock.advance(seconds=30)
        assert (await one.pull()).changes == ()  # the same firings: nothing new, nothing stopped

        live_clock.advance(seconds=31)  # the grace is over: what is still missing did stop
        result = await one.pull()
        assert [(c.kind, c.incident) for c in result.changes] == [("alert_resolved", 3)]
        assert not one.health[0].in_grace(live_clock.now())
    finally:
        await one.aclose()
        desk.close()


async def test_the_desks_silence_is_renewed_while_acknowledged_and_firing(alertmanager, tmp_path, policy, live_clock):
    alertmanager.fire(LOGIN, ends_at=datetime.now(UTC) + timedelta(hours=3))
    desk = open_desk(tmp_path, "desk", tuned(policy), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        desk.acknowledge(1)
        await one.pull()
        first = desk.get(1).silence_id

        live_clock.advance(minutes=100)  # 20 minutes left of the 120: time to renew
        result = await one.pull()

        assert [c.kind for c in result.changes] == ["silence_renewed"]
        live = [s for s in alertmanager.silences() if s["status"]["state"] == "active"]
        (renewed,) = live
        assert renewed["id"] == desk.get(1).silence_id
        ends = datetime.fromisoformat(renewed["endsAt"].replace("Z", "+00:00"))
        assert abs(ends - (live_clock.now() + timedelta(minutes=120))) < timedelta(seconds=2)
        assert desk.timeline(1)[-1].details["previous_id"] == first
        assert (await one.pull()).changes == ()
    finally:
        await one.aclose()
        desk.close()


async def test_a_silence_whose_creation_timed_out_is_found_not_made_twice_and_expired_on_resolve(
    alertmanager, tmp_path, policy, live_clock
):
    alertmanager.fire(LOGIN)
    desk = open_desk(tmp_path, "desk", tuned(policy), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        desk.acknowledge(1)
        # What a POST that timed out leaves behind: Alertmanager made the silence, the desk never
        # heard its id. It carries the desk's comment, which is how the desk finds it again.
        now = datetime.now(UTC)
        alertmanager.call(
            "POST",
            "/api/v2/silences",
            {
                "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in LOGIN.items()],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=2)).isoformat(),
                "createdBy": "alice",
                "comment": f"INC-1 acknowledged by alice on the on-call desk {desk.store.desk_id()}: x",
            },
        )
        result = await one.pull()
        assert [c.kind for c in result.changes] == ["silence_created"]
        (silence,) = alertmanager.silences()
        assert desk.get(1).silence_id == silence["id"] and desk.timeline(1)[-1].details["adopted"] is True

        # Now the other half: resolved while a creation timed out, so the desk records no silence.
        alertmanager.fire(DISK)
        await one.pull()
        desk.acknowledge(2)
        alertmanager.call(
            "POST",
            "/api/v2/silences",
            {
                "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in DISK.items()],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=2)).isoformat(),
                "createdBy": "alice",
                "comment": f"INC-2 acknowledged by alice on the on-call desk {desk.store.desk_id()}: y",
            },
        )
        desk.edit(2, "root_cause", "a log rotation stopped")
        desk.edit(2, "resolution", "restarted it")
        desk.move(2, Status.RESOLVED)
        result = await one.pull()
        assert ("silence_expired", 2) in [(c.kind, c.incident) for c in result.changes]
        states = {s["comment"][:5]: s["status"]["state"] for s in alertmanager.silences()}
        assert states == {"INC-1": "active", "INC-2": "expired"}
    finally:
        await one.aclose()
        desk.close()


async def test_an_outside_expiry_is_on_the_timeline_and_respected(alertmanager, tmp_path, policy, live_clock):
    alertmanager.fire(LOGIN)
    desk = open_desk(tmp_path, "desk", tuned(policy), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        desk.acknowledge(1)
        await one.pull()
        sid = desk.get(1).silence_id
        alertmanager.call("DELETE", f"/api/v2/silence/{sid}")  # someone in Alertmanager's UI

        result = await one.pull()

        assert [c.kind for c in result.changes] == ["silence_ended"]
        assert desk.timeline(1)[-1].details["reason"] == "expired_elsewhere"
        assert desk.get(1).silence_id == ""
        assert (await one.pull()).changes == ()  # not silenced again behind that person's back
        assert [s["status"]["state"] for s in alertmanager.silences()] == ["expired"]
    finally:
        await one.aclose()
        desk.close()


async def test_a_silence_lost_with_a_killed_alertmanager_is_noticed_and_made_again(
    alertmanager, tmp_path, policy, live_clock
):
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    alertmanager.fire(LOGIN, starts_at=began)
    desk = open_desk(tmp_path, "desk", tuned(policy, restart_grace_seconds=5), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        desk.acknowledge(1)
        await one.pull()
        lost = desk.get(1).silence_id

        alertmanager.kill()  # no peer, no snapshot since: its silences die with it
        alertmanager.start()
        alertmanager.fire(LOGIN, starts_at=began)
        live_clock.advance(seconds=POLL_SECONDS)
        assert (await one.pull()).changes == ()  # restarted: its silences may still be on the way
        live_clock.advance(seconds=6)
        result = await one.pull()

        assert [c.kind for c in result.changes] == ["silence_ended", "silence_created"]
        assert desk.timeline(1)[-2].details == {"silence_id": lost, "reason": "lost"}
        assert [s["id"] for s in alertmanager.silences()] == [desk.get(1).silence_id]
    finally:
        await one.aclose()
        desk.close()


async def test_a_maintenance_alert_goes_live_when_its_silence_ends(alertmanager, tmp_path, policy, live_clock):
    alertmanager.fire(DISK)
    now = datetime.now(UTC)
    created = alertmanager.call(
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
    desk = open_desk(tmp_path, "desk", tuned(policy), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        await one.pull()
        assert desk.get(1).alert_state == "maintenance"
        live_clock.advance(minutes=20)
        assert desk.deadlines(desk.get(1)).breached == ()

        alertmanager.call("DELETE", f"/api/v2/silence/{created['silenceID']}")  # the window closes
        alertmanager.wait_for(lambda: not alertmanager.alerts()[0]["status"]["silencedBy"], "the alert live")
        result = await one.pull()

        assert [c.kind for c in result.changes] == ["maintenance_ended"]
        inc = desk.get(1)
        assert inc.alert_state == "firing" and inc.live_at == live_clock.now()
        assert desk.deadlines(inc).get("acknowledge").due_at == live_clock.now() + policy.acknowledge
    finally:
        await one.aclose()
        desk.close()


async def test_a_filter_takes_only_this_teams_alerts(alertmanager, tmp_path, policy, live_clock):
    alertmanager.fire({**LOGIN, "team": "identity"})
    alertmanager.fire({**DISK, "team": "storage"})
    desk = open_desk(tmp_path, "desk", tuned(policy, filter='{team="storage"}'), live_clock, "alice")
    one = intake(desk, alertmanager)
    try:
        result = await one.pull()
        assert result.alerts == 1 and [i.title for i in desk.incidents()] == ["DiskFilling"]
    finally:
        await one.aclose()
        desk.close()


def test_the_cluster_gossips_silences(am_cluster):
    """The premise of the HA tests: a silence made on one Alertmanager reaches the other."""
    am1, am2 = am_cluster.members
    now = datetime.now(UTC)
    made = am1.call(
        "POST",
        "/api/v2/silences",
        {
            "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "t",
            "comment": "t",
        },
    )
    started = time.monotonic()
    am_cluster.wait_replicated(made["silenceID"])
    assert time.monotonic() - started < 10
    assert am2.status()["cluster"]["status"] in ("ready", "settling")


async def test_a_storm_of_12000_alerts_brings_its_new_p0_to_the_board(alertmanager, tmp_path, policy, live_clock):
    """Over 8 MiB of alerts (the old wall): read as it arrives, grouped by alertname into a few
    incidents, and the P0 that fired amid the storm is on the board."""
    from pilot_helpers import board_text, until

    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp

    now = datetime.now(UTC)
    storm = [
        {
            "labels": {"alertname": f"HighErrorRate{i % 3}", "severity": "warning", "instance": f"api-{i}:9100"},
            "annotations": {"summary": f"Error rate above 5% on api-{i}", "description": "x" * 500},
            "startsAt": (now - timedelta(minutes=30)).isoformat(),
            "endsAt": (now + timedelta(minutes=30)).isoformat(),
            "generatorURL": "http://prometheus.test/graph",
        }
        for i in range(12_000)
    ]
    # Alertmanager itself takes ~0.5 s per 2,000 alerts taken and ~4 s to serve all 12,000 on a
    # loaded 2-core box: the harness waits for it (what this test times is the desk, below).
    for at in range(0, len(storm), 2_000):
        alertmanager.call("POST", "/api/v2/alerts", storm[at : at + 2_000], timeout=60)
    alertmanager.fire(
        {"alertname": "PaymentsDown", "severity": "page", "service": "payments"},
        annotations={"summary": "Payments are failing"},
    )
    size = len(json.dumps(alertmanager.alerts(timeout=60)).encode())
    assert size > 8 * 1024 * 1024  # what the desk refused before, going blind

    db = tmp_path / "desk.db"
    desk = Desk.open(db, policy=tuned(policy, group_by=["alertname"], timeout_seconds=60), clock=live_clock)
    app = OncallApp(desk, DeskOptions(db_path=db, alertmanager_url=alertmanager.url), clock=live_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "Payments are failing" in board_text(app), "the P0 on the board", timeout=120)
    incidents = desk.incidents()
    desk.close()
    assert len(incidents) == 4  # three storm groups and the P0, not 12,001 incidents
    (p0,) = [i for i in incidents if i.title == "Payments are failing"]
    assert p0.severity.value == "P0"
