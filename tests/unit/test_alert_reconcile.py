"""One poll's alerts against a real desk file: dedup, re-firing, disappearing, grouping, silences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.alerts.intake import intake_lock, silences_due
from oncall_tui.alerts.parse import Alert, Silence
from oncall_tui.alerts.reconcile import INTAKE_ACTOR, load_tracked, plan, reconcile
from oncall_tui.desk import Desk
from oncall_tui.model import Severity, Status

UTC = UTC
T_FIRE = datetime(2026, 11, 27, 2, 50, tzinfo=UTC)  # ten minutes before the desk's frozen "now"


def fire(fp="fp1", *, starts_at=T_FIRE, summary="Login errors above 5%", silenced_by=(), **labels) -> Alert:
    labels = labels or {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity"}
    return Alert(fp, labels, {"summary": summary} if summary else {}, starts_at, silenced_by=tuple(silenced_by))


@pytest.fixture
def watcher(db_path, desk, policy):
    """A second connection to the same file: its data_version moves only when the desk commits."""
    other = Desk.open(db_path, policy=policy)
    yield other
    other.close()


def events(desk, number):
    return [(e.kind, e.actor) for e in desk.timeline(number)]


def event_count(desk) -> int:
    return desk.store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_a_new_alert_becomes_an_incident_started_when_the_alert_began(desk):
    outcome = reconcile(desk, [fire()])
    (inc,) = desk.incidents()
    assert (inc.title, inc.severity, inc.services) == ("Login errors above 5%", Severity.P1, ("identity",))
    assert inc.started_at == T_FIRE and inc.declared_at == desk.now()
    assert (inc.source, inc.fingerprint, inc.status) == ("alert", "fp1", Status.TRIGGERED)
    assert inc.labels == {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity"}
    # It began ten minutes ago: the clocks that had run out by then are on its timeline at once,
    # in the import's own transaction, as the board's recorder would have written them.
    assert events(desk, inc.number) == [("declared", INTAKE_ACTOR), *[("deadline_breached", "desk")] * 2]
    missed = [(e.details["deadline"], e.details["due_at"]) for e in desk.timeline(inc.number)[1:]]
    assert missed == [("acknowledge", "2026-11-27T02:55:00Z"), ("escalate:secondary-on-call", "2026-11-27T02:55:00Z")]
    assert [c.kind for c in outcome.changes] == ["declared"]
    assert "INC-1 declared from alert IdentityHighErrorRate" in outcome.changes[0].text
    # The acknowledgement clock counts from the alert's start: 5 minutes after 02:50 is already past.
    ack = next(d for d in desk.deadlines(inc).items if d.key == "acknowledge")
    assert ack.due_at == T_FIRE + timedelta(minutes=5) and ack.seconds_left < 0


def test_an_unmapped_severity_leaves_the_severity_clock_running(desk):
    reconcile(desk, [fire(alertname="Odd", severity="sev-unknown")])
    (inc,) = desk.incidents()
    assert inc.severity is None
    sev = next(d for d in desk.deadlines(inc).items if d.key == "severity")
    assert sev.due_at == desk.now() + timedelta(minutes=15)  # counted from when the desk saw it


def test_a_poll_with_nothing_new_writes_nothing(desk, watcher):
    alerts = [fire("a"), fire("b", alertname="DiskFull", severity="warning", job="db")]
    reconcile(desk, alerts)
    before = (watcher.data_version(), event_count(desk), [i.version for i in desk.incidents()])
    for _ in range(3):
        assert plan(desk, alerts) == []
        assert reconcile(desk, alerts).changes == ()
    assert (watcher.data_version(), event_count(desk), [i.version for i in desk.incidents()]) == before


def test_a_repeat_firing_dedups_by_fingerprint_not_by_summary(desk):
    reconcile(desk, [fire("a")])
    reconcile(desk, [fire("a", summary="Reworded summary")])
    reconcile(desk, [fire("a"), fire("b")])  # same summary, different alert: its own incident
    assert [(i.number, i.fingerprint) for i in desk.incidents()] == [(1, "a"), (2, "b")]


def test_a_new_starts_at_is_a_refire_on_the_same_incident(desk, clock):
    reconcile(desk, [fire()])
    clock.advance(minutes=20)
    later = T_FIRE + timedelta(minutes=25)
    outcome = reconcile(desk, [fire(starts_at=later)])
    assert len(desk.incidents()) == 1
    assert [c.kind for c in outcome.changes] == ["alert_refired"]
    last = desk.timeline(1)[-1]
    assert last.kind == "alert_refired" and last.details["alerts"][0]["starts_at"] == "2026-11-27T03:15:00Z"
    assert reconcile(desk, [fire(starts_at=later)]).changes == ()


def test_a_vanished_alert_flags_the_incident_and_never_resolves_it(desk, clock):
    reconcile(desk, [fire()])
    clock.advance(minutes=3)
    outcome = reconcile(desk, [])
    inc = desk.get(1)
    assert inc.status is Status.TRIGGERED and inc.resolved_at is None
    assert inc.alert_state == "resolved"
    assert [c.kind for c in outcome.changes] == ["alert_resolved"]
    assert "confirm" in outcome.changes[0].text
    assert events(desk, 1)[-1] == ("alert_resolved", INTAKE_ACTOR)
    assert reconcile(desk, []).changes == ()  # said once


def test_an_alert_that_comes_back_after_vanishing_refires(desk, clock):
    reconcile(desk, [fire()])
    reconcile(desk, [])
    clock.advance(minutes=1)
    outcome = reconcile(desk, [fire()])  # Alertmanager restarted; Prometheus re-sent the same alert
    assert [c.kind for c in outcome.changes] == ["alert_refired"]
    assert desk.get(1).alert_state == "firing"
    assert len(desk.incidents()) == 1


def test_a_resolved_incident_whose_alert_lingers_is_not_declared_again(desk, clock):
    reconcile(desk, [fire()])
    desk.acknowledge(1)
    desk.set_severity(1, "P2")
    desk.edit(1, "root_cause", "bad deploy")
    desk.edit(1, "resolution", "rolled back")
    desk.move(1, Status.RESOLVED)
    clock.advance(minutes=2)
    assert reconcile(desk, [fire()]).changes == ()  # Prometheus has not cleared it yet
    outcome = reconcile(desk, [fire(starts_at=T_FIRE + timedelta(minutes=11))])  # it fires anew
    assert [c.kind for c in outcome.changes] == ["declared"]
    new = desk.get(2)
    assert new.fingerprint == "fp1" and new.status is Status.TRIGGERED
    assert desk.timeline(2)[0].details["recurrence_of"] == "INC-1"
    assert "firing again after INC-1" in outcome.changes[0].text


def test_an_alert_from_the_future_starts_now(desk):
    reconcile(desk, [fire(starts_at=desk.now() + timedelta(minutes=2))])  # Alertmanager's clock runs ahead
    assert desk.get(1).started_at == desk.now()


def test_an_alert_without_a_start_starts_now(desk):
    reconcile(desk, [fire(starts_at=None)])
    assert desk.get(1).started_at == desk.now()


def test_incidents_are_numbered_in_the_order_their_alerts_began(desk):
    reconcile(desk, [fire("late", starts_at=T_FIRE), fire("early", starts_at=T_FIRE - timedelta(hours=1))])
    assert [i.fingerprint for i in desk.incidents()] == ["early", "late"]


def test_runbook_matcher_sets_the_symptom(desk):
    reconcile(desk, [fire()], matcher=lambda a: "identity-service-outage")
    assert desk.get(1).symptom == "identity-service-outage"


class TestGrouping:
    @pytest.fixture
    def desk(self, desk):
        desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, group_by=("alertname",)))
        return desk

    def test_alerts_sharing_group_labels_share_one_incident(self, desk):
        a = fire("a", alertname="HighLatency", severity="warning", service="api", instance="1")
        b = fire("b", alertname="HighLatency", severity="page", service="api", instance="2")
        outcome = reconcile(desk, [a, b])
        (inc,) = desk.incidents()
        assert inc.labels == {"alertname": "HighLatency"}  # what its silence will match
        assert inc.severity is Severity.P0
        assert "2 alerts" in outcome.changes[0].text
        assert reconcile(desk, [a, b]).changes == ()

    def test_members_join_leave_and_the_flag_rises_only_when_all_are_gone(self, desk, clock):
        a = fire("a", alertname="HighLatency", instance="1")
        b = fire("b", alertname="HighLatency", instance="2")
        reconcile(desk, [a])
        out = reconcile(desk, [a, b])
        assert [c.kind for c in out.changes] == ["alert_fired"]
        out = reconcile(desk, [b])
        assert [c.kind for c in out.changes] == ["alert_resolved"]
        assert desk.get(1).alert_state != "resolved"
        assert desk.timeline(1)[-1].details["remaining"] == 1
        reconcile(desk, [])
        assert desk.get(1).alert_state == "resolved"
        out = reconcile(desk, [fire("c", alertname="HighLatency", instance="3")])
        assert [c.kind for c in out.changes] == ["alert_fired"]
        assert desk.get(1).alert_state == "firing"
        assert len(desk.incidents()) == 1

    def test_one_member_replacing_another_in_one_poll_keeps_the_incident_firing(self, desk):
        reconcile(desk, [fire("a", alertname="HighLatency", instance="1")])
        out = reconcile(desk, [fire("b", alertname="HighLatency", instance="2")])
        assert [c.kind for c in out.changes] == ["alert_fired", "alert_resolved"]
        assert desk.get(1).alert_state != "resolved"
        assert desk.timeline(1)[-1].details["remaining"] == 1


class TestSilencedElsewhere:
    SID = "4c0a02f1-ea28-4720-8a99-553ce400c49d"

    def silences(self):
        ends = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
        return {self.SID: Silence(self.SID, "carol", "disk maintenance", "active", None, ends)}

    def test_someone_elses_silence_is_noted_once_with_who_and_counts_as_an_acknowledgement(self, desk):
        reconcile(desk, [fire()])
        outcome = reconcile(desk, [fire(silenced_by=[self.SID])], silences=self.silences())
        assert [c.kind for c in outcome.changes] == ["silenced_elsewhere", "acknowledged"]
        assert "by carol" in outcome.changes[0].text
        inc = desk.get(1)
        assert (inc.status, inc.acknowledged_by) == (Status.ACKNOWLEDGED, "carol")  # someone has it
        assert not desk.deadlines(inc).get("acknowledge").running  # its clock stopped
        assert desk.timeline(1)[-1].details["via"] == "silence"
        events = desk.timeline(1)[:-1]
        event = events[-1]
        assert (event.kind, event.details["created_by"], event.details["comment"]) == (
            "silenced_elsewhere",
            "carol",
            "disk maintenance",
        )
        assert reconcile(desk, [fire(silenced_by=[self.SID])], silences=self.silences()).changes == ()

    def test_an_alert_that_arrives_silenced_is_in_maintenance_with_its_clocks_off(self, desk, clock):
        outcome = reconcile(desk, [fire(silenced_by=[self.SID])], silences=self.silences())
        assert [c.kind for c in outcome.changes] == ["declared", "maintenance_began"]
        assert "silenced by carol" in desk.timeline(1)[-1].details["why"]
        inc = desk.get(1)
        assert inc.alert_state == "maintenance" and inc.status is Status.TRIGGERED
        clock.advance(minutes=30)
        assert all(not d.running for d in desk.deadlines(desk.get(1)).items)  # no clock, no breach
        assert reconcile(desk, [fire(silenced_by=[self.SID])], silences=self.silences()).changes == ()

        # The maintenance window closes with the alert still firing: now it is live, clocks from now.
        outcome = reconcile(desk, [fire()], silences=self.silences())
        assert [c.kind for c in outcome.changes] == ["maintenance_ended"]
        inc = desk.get(1)
        assert inc.alert_state == "firing" and inc.live_at == clock.now()
        ack = desk.deadlines(inc).get("acknowledge")
        assert ack.running and ack.due_at == clock.now() + desk.policy.acknowledge

    def test_an_alert_that_arrives_under_another_desks_ack_silence_is_taken(self, desk):
        theirs = Silence(
            self.SID,
            "dave",
            "INC-7 acknowledged by dave on the on-call desk 1a2b3c4d: Login",
            "active",
            None,
            datetime(2026, 11, 27, 5, 0, tzinfo=UTC),
        )
        outcome = reconcile(desk, [fire(silenced_by=[self.SID])], silences={self.SID: theirs})
        assert [c.kind for c in outcome.changes] == ["declared", "silenced_elsewhere", "acknowledged"]
        inc = desk.get(1)
        assert inc.alert_state != "maintenance" and inc.acknowledged_by == "dave"

    def test_the_desks_own_silence_is_not_someone_elses(self, desk):
        reconcile(desk, [fire()])
        desk.act(1, "silence_created", lambda inc, now: ({"silence_id": self.SID}, {"silence_id": self.SID}))
        assert reconcile(desk, [fire(silenced_by=[self.SID])], silences=self.silences()).changes == ()

    def test_an_unknown_silence_waits_until_its_author_is_known(self, desk):
        reconcile(desk, [fire()])
        assert reconcile(desk, [fire(silenced_by=[self.SID])], silences={}).changes == ()


class TestSilencesDue:
    def due(self, desk, alerts):
        return silences_due(desk, alerts, load_tracked(desk))

    def test_an_acknowledged_firing_alert_incident_needs_a_silence(self, desk):
        reconcile(desk, [fire()])
        assert self.due(desk, [fire()]) == []  # not acknowledged yet
        desk.acknowledge(1)
        assert self.due(desk, [fire()]) == [1]

    def test_not_when_silenced_already_gone_or_switched_off(self, desk):
        reconcile(desk, [fire()])
        desk.acknowledge(1)
        assert self.due(desk, [fire(silenced_by=["someone-elses"])]) == []
        assert self.due(desk, []) == []
        desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, silence_on_ack=False))
        assert self.due(desk, [fire()]) == []

    def test_not_twice_even_after_the_silence_was_expired(self, desk):
        reconcile(desk, [fire()])
        desk.acknowledge(1)
        desk.act(1, "silence_created", lambda inc, now: ({"silence_id": "s1"}, {"silence_id": "s1"}))
        assert self.due(desk, [fire()]) == []
        desk.act(1, "silence_expired", lambda inc, now: ({"silence_id": ""}, {"silence_id": "s1"}))
        assert self.due(desk, [fire()]) == []

    def test_manual_incidents_are_never_silenced(self, desk):
        desk.declare("Typed by hand")
        desk.acknowledge(1)
        assert self.due(desk, [fire()]) == []


def test_two_desks_on_one_file_take_turns_importing(db_path, desk, policy):
    other = Desk.open(db_path, policy=policy)
    try:
        with intake_lock(desk) as mine:
            assert mine
            with intake_lock(other) as theirs:
                assert not theirs
        with intake_lock(other) as theirs:
            assert theirs
    finally:
        other.close()


def test_the_intakes_events_read_as_sentences(desk, clock):
    from oncall_tui.alerts.describe import describe_alert_event

    reconcile(desk, [fire()])
    reconcile(desk, [])
    reconcile(desk, [fire(starts_at=T_FIRE + timedelta(minutes=5))])
    sid = TestSilencedElsewhere.SID
    reconcile(
        desk,
        [fire(starts_at=T_FIRE + timedelta(minutes=5), silenced_by=[sid])],
        silences=TestSilencedElsewhere().silences(),
    )
    skipped = ("acknowledged", "deadline_breached")
    lines = [describe_alert_event(e.kind, e.details) for e in desk.timeline(1)[1:] if e.kind not in skipped]
    assert lines == [
        ("Alert IdentityHighErrorRate stopped firing — confirm, then resolve the incident", "success"),
        ("Alert IdentityHighErrorRate fired again (since 2026-11-27 02:55 UTC)", "warning"),
        ("Already silenced in Alertmanager by carol until 2026-11-27 05:00 UTC: “disk maintenance”", "warning"),
    ]
    assert describe_alert_event("note", {"text": "x"}) is None


def test_an_inhibited_alert_is_recorded_in_maintenance_not_dropped(desk):
    covered = replace(fire("svc"), inhibited_by=("host-down",))
    assert [c.kind for c in reconcile(desk, [covered]).changes] == ["declared", "maintenance_began"]
    assert desk.get(1).alert_state == "maintenance"
    assert "inhibited" in desk.timeline(1)[-1].details["why"]
    reconcile(desk, [fire("host", alertname="HostDown", severity="page"), covered])
    assert [(i.fingerprint, i.alert_state) for i in desk.incidents()] == [("svc", "maintenance"), ("host", "")]


def test_an_alert_that_becomes_inhibited_is_still_firing(desk):
    reconcile(desk, [fire("svc")])
    assert reconcile(desk, [replace(fire("svc"), inhibited_by=("host-down",))]).changes == ()


def test_escape_sequences_in_alert_labels_never_reach_the_screen(desk):
    evil = fire("evil", summary="", alertname="Pwn\x1b[2J\x1b]0;owned\x07", service="api\x9b1m")
    outcome = reconcile(desk, [evil])
    from oncall_tui.alerts.describe import describe_alert_event

    reconcile(desk, [])
    texts = [c.text for c in outcome.changes] + [
        describe_alert_event("alert_resolved", desk.timeline(1)[-1].details)[0]
    ]
    inc = desk.get(1)
    for text in (*texts, inc.title, *inc.services):
        assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in text), repr(text)
    assert inc.labels["alertname"] == "Pwn\x1b[2J\x1b]0;owned\x07"  # kept exact: a silence must match it


def test_a_runbook_label_too_long_for_the_field_is_cut_and_the_alert_named(desk):
    long_label = "identity-" + "x" * 300
    alert = fire("fp-long", alertname="IdentityHighErrorRate", service="identity", runbook=long_label)
    outcome = reconcile(desk, [alert])
    assert outcome.problems == ()
    inc = desk.get(1)
    assert inc.symptom == long_label[:200]
    assert outcome.changes[0].text.startswith("INC-1 declared from alert IdentityHighErrorRate: ")
    assert "its runbook label (309 characters) was cut to 200" in outcome.changes[0].text
    assert reconcile(desk, [alert]).changes == ()  # imported once: the next poll has nothing to say


def test_a_refused_alert_is_named_in_the_problem(desk, monkeypatch):
    from oncall_tui.alerts import reconcile as module

    def refuse(self, desk):
        raise module.ActionRefused("text is too long (9 characters; at most 5)")

    monkeypatch.setattr(module.Declare, "apply", refuse)
    outcome = reconcile(desk, [fire("fp-x", alertname="DiskFull", service="db")])
    assert outcome.problems == ("alert DiskFull (fp-x) was not imported: text is too long (9 characters; at most 5)",)


def test_an_old_alerts_breaches_come_with_its_import_and_leave_the_recorder_nothing_to_write(desk):
    from oncall_tui.breaches import BreachWatcher, Clocks, record_all

    reconcile(desk, [fire()])
    (inc,) = desk.incidents()
    noticed = BreachWatcher().observe([Clocks(inc, desk.deadlines(inc))])  # what a board then notices
    assert [b.key for b in noticed] == ["acknowledge", "escalate:secondary-on-call"]
    before = event_count(desk)
    assert record_all(desk, noticed) == 0 and event_count(desk) == before
