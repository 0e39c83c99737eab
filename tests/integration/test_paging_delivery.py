"""Paging end to end against real receivers: an SMTP server (aiosmtpd) and an HTTP server for
ntfy/JSON pages, both on 127.0.0.1, and a real Alertmanager for the alert-born incident.

Time is a frozen clock: "no ack for 5 minutes" is `clock.advance(minutes=5)`, never a sleep.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from paging_fixtures import POLICY, write_config
from paging_receivers import HttpReceiver, refused_url

from oncall_tui import overrides
from oncall_tui.agent import Agent
from oncall_tui.clock import FrozenClock
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.event_text import describe
from oncall_tui.notify.pager import Pager, unreached
from oncall_tui.policy import load_policy
from oncall_tui.roster import RosterSource

IDENTITY = {"alertname": "IdentityServiceDown", "severity": "critical", "service": "identity", "instance": "idp-1"}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def desk(db_path, paging_policy, clock):
    d = Desk.open(db_path, policy=paging_policy, clock=clock, actor="alice")
    yield d
    d.close()


@pytest.fixture
def pager(desk, config_dir):
    p = Pager(desk, RosterSource(desk.policy, config_dir))
    yield p
    p.close()


def step(pager: Pager) -> list[str]:
    claimed = pager.step()
    assert pager.wait_idle(20)
    return claimed


def timeline(desk, number) -> list[str]:
    return [describe(e)[0] for e in desk.timeline(number)]


def primary_now(pager, desk) -> str:
    return pager.roster.get().holder("primary", desk.now())


@pytest.mark.alertmanager
def test_an_alert_born_p1_pages_the_primary_by_email(alertmanager, desk, clock, config_dir, smtp):
    alertmanager.fire(IDENTITY, annotations={"summary": "Users cannot log in"})
    out = io.StringIO()
    agent = Agent(
        desk,
        DeskOptions(db_path=desk.store.info.path, alertmanager_url=alertmanager.url),
        clock=clock,
        roster=RosterSource(desk.policy, config_dir),
        out=out,
    )
    agent.start()
    try:
        asyncio.run(agent.poll_alerts(clock.now()))
        assert agent.pager.wait_idle(20)
    finally:
        agent.pager.close()
    (incident,) = desk.incidents()
    assert incident.source == "alert" and incident.severity.value == "P1"
    holder = agent.roster.get().people[agent.roster.get().holder("primary", clock.now())]
    address = f"{holder.handle}@example.com"
    (mail,) = smtp.wait_for(address)
    assert mail.subject == f"[P1] {incident.id} IdentityServiceDown: Users cannot log in" or incident.id in mail.subject
    assert f"oncall-tui ack {incident.id}" in mail.body and "Primary On-Call" in mail.body
    lines = timeline(desk, incident.number)
    assert any(line.startswith(f"Paging {holder.name} as Primary On-Call (new incident)") for line in lines)
    assert any(line.startswith(f"Page delivered to {holder.name}") and "Sent Email" in line for line in lines)
    assert "paging INC-1:L0" in out.getvalue()


def test_no_ack_in_five_minutes_pages_the_secondary_and_ack_stops_the_repeats(desk, clock, pager, smtp):
    inc = desk.declare("Checkout errors", severity="P1", services=["checkout"])
    assert step(pager) == ["INC-1:L0"]
    roster = pager.roster.get()
    primary = roster.holder("primary", clock.now())
    secondary = roster.holder("secondary", clock.now())
    smtp.wait_for(f"{primary}@example.com", 1)

    clock.advance(minutes=4, seconds=59)
    assert step(pager) == []
    clock.advance(seconds=2)  # 5m01s: the acknowledgement is late
    assert step(pager) == ["INC-1:L1"]
    (mail,) = (
        smtp.wait_for(f"{secondary}@example.com", 1)
        if secondary != primary
        else smtp.wait_for(f"{secondary}@example.com", 2)[-1:]
    )
    assert "not acknowledged in time" in mail.body and "Acknowledge 1s overdue" in mail.body

    clock.advance(minutes=5)  # the secondary has not answered either: repeated
    assert step(pager) == ["INC-1:L1:r1"]
    desk.acknowledge(inc.number, actor="ben")
    for _ in range(4):
        clock.advance(minutes=5)
        step(pager)
    assert [k for k in pager.desk.store.page_rows() if k["reason"] == "repeat"].__len__() == 1
    assert len(smtp.mails) == 3  # primary, secondary, one repeat: nothing after the ack


def test_an_override_moves_the_next_page_to_whoever_covers(desk, clock, pager, smtp):
    roster = pager.roster.get()
    regular = roster.holder("secondary", clock.now())
    cover = next(h for h in ("ava", "ben", "chen") if h != regular)
    inc = desk.declare("Search is slow", severity="P1")
    step(pager)
    o = overrides.add(desk, roster, "secondary", cover, hours=2, covering=regular, reason="dentist")
    clock.advance(minutes=5, seconds=1)
    assert step(pager) == ["INC-1:L1"]
    assert smtp.wait_for(f"{cover}@example.com")
    page_lines = [line for line in timeline(desk, inc.number) if line.startswith("Paging")]
    assert roster.people[cover].name in page_lines[-1]
    # Reversed: the rotation holds the pager again, and the audit keeps both facts.
    overrides.cancel(desk, o.id)
    assert pager.roster.get().holder("secondary", clock.now(), overrides.listed(desk)) == regular
    (kept,) = overrides.listed(desk, include_past=True)
    assert kept.cancelled_by == "alice" and kept.created_by == "alice" and kept.reason == "dentist"


def test_overlapping_overrides_are_refused(desk, pager):
    roster = pager.roster.get()
    overrides.add(desk, roster, "primary", "chen", hours=4)
    from oncall_tui.desk import ActionRefused

    with pytest.raises(ActionRefused, match="overlaps override #1"):
        overrides.add(desk, roster, "primary", "ben", hours=1)
    with pytest.raises(ActionRefused, match="no schedule 'tertiary'"):
        overrides.add(desk, roster, "tertiary", "ben", hours=1)


@pytest.fixture
def faulty(tmp_path, monkeypatch, smtp):
    """Ava's channels all fail in different ways; Ben is reachable by e-mail."""
    slow = HttpReceiver(mode="slow", delay=5)
    broken = HttpReceiver(mode="500")
    plain = HttpReceiver()
    urls = {
        "ava": '", "'.join(
            [refused_url(), slow.json_url("slow"), broken.ntfy("ava"), plain.tls_url("tls"), "notascheme://what"]
        ),
        "ben": smtp.url("ben@example.com"),
        "chen": smtp.url("chen@example.com"),
    }
    policy = (
        POLICY.replace("send_timeout_seconds = 5", "send_timeout_seconds = 1")
        .replace('schedule = "primary"', 'person = "ava"')
        .replace('schedule = "secondary"', 'person = "ben"')
    )
    directory = write_config(tmp_path / "faulty", urls=urls, policy=policy)
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(directory))
    yield directory
    for r in (slow, broken, plain):
        r.stop()


def test_when_every_channel_fails_the_next_tier_is_paged_at_once_and_the_board_is_told(db_path, clock, faulty, smtp):
    policy = load_policy(faulty / "policy.toml")
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    pager = Pager(desk, RosterSource(policy, faulty))
    try:
        inc = desk.declare("Payments down", severity="P0")
        assert step(pager) == ["INC-1:L0"]
        assert unreached(desk, desk.incidents(), {"ava": "Ava Jones"}) == [
            (desk.get(inc.number), "could not reach Ava Jones")
        ]
        assert step(pager) == ["INC-1:L1"]  # the very next look, not after the 5 minutes
        smtp.wait_for("ben@example.com")
        step(pager)
        names = {"ava": "Ava Jones", "ben": "Ben Okafor"}
        assert unreached(desk, desk.incidents(), names) == [
            (desk.get(inc.number), "could not reach Ava Jones; reached Ben Okafor")
        ]
        desk.acknowledge(inc.number)
        assert unreached(desk, desk.incidents()) == []
    finally:
        pager.close()
    (failed,) = [e for e in desk.timeline(inc.number) if e.kind == "page_result" and not e.details["delivered"]]
    results = {c["channel"]: c for c in failed.details["channels"]}
    text = " | ".join(f"{k}: {[a['result'] for a in c['attempts']]}" for k, c in results.items())
    assert len(results) == 5, text
    by = list(results.values())
    assert not any(c["delivered"] for c in by)
    refused, slow, http500, tls, bad = by
    assert "Connection error" in refused["attempts"][0]["result"] and len(refused["attempts"]) == 2  # retried
    assert any(w in slow["attempts"][0]["result"] for w in ("timed out", "Read timed out", "no answer", "Timeout")), (
        text
    )
    assert "500" in http500["attempts"][0]["result"]
    assert "SSL" in tls["attempts"][0]["result"] or "TLS" in tls["attempts"][0]["result"], text
    assert "Apprise cannot read" in bad["attempts"][0]["result"] and len(bad["attempts"]) == 1
    line = describe(failed)[0]
    assert line.startswith("Could not reach Ava Jones: every channel failed")
    assert "delivered" not in line.lower().replace("undelivered", "")


def test_paging_a_chosen_person_by_hand(desk, clock, pager, smtp):
    inc = desk.declare("Disk filling", severity="P2")
    step(pager)
    outcome = pager.page_now(inc.number, person="chen", note="need a DBA")
    assert outcome.state == "delivered" and outcome.person == "chen"
    (mail,) = [m for m in smtp.wait_for("chen@example.com") if "need a DBA" in m.body]
    assert "paged by hand" in mail.body
    outcome = pager.page_now(inc.number, level=2)
    assert outcome.person == "chen"  # the Engineering Manager level names chen


def test_a_handoff_heads_up_reaches_the_incoming_person_with_the_brief(db_path, clock, config_dir, smtp):
    policy = load_policy(config_dir / "policy.toml")
    from dataclasses import replace

    policy = replace(policy, paging=replace(policy.paging, heads_up_minutes=30))
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    roster_source = RosterSource(policy, config_dir)
    roster = roster_source.get()
    current, nxt = roster.current("primary", clock.now())
    clock.set(nxt.starts_at - timedelta(minutes=20))
    desk.declare("Slow search", severity="P2", started_at=clock.now() - timedelta(minutes=1))
    pager = Pager(desk, roster_source)
    try:
        claimed = step(pager)
        assert [k for k in claimed if k.startswith("handoff:primary:")]
        step(pager)  # not twice
    finally:
        pager.close()
    (mail,) = smtp.wait_for(f"{nxt.person}@example.com")
    assert "Heads-up: you take primary on call" in mail.subject
    assert "Handoff brief for primary" in mail.body and "INC-1 [P2] triggered: Slow search" in mail.body
