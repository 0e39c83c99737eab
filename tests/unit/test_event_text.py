"""Every kind of timeline event the desk writes, as the one sentence every screen and document shows.

The events come from the real write paths (desk actions, the review, the alert intake) on a real
file, so a change in what an action records shows up here as a line that no longer reads right.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui import event_text, review
from oncall_tui.alerts.parse import Alert, Silence
from oncall_tui.alerts.reconcile import reconcile
from oncall_tui.desk import Desk
from oncall_tui.model import Event, Status

UTC = UTC
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
EVIL = "\x1b[2J\x1b]0;owned\x07\r\n\t\x9b1m\x7f"


def lines(desk: Desk, number: int = 1, tz=UTC) -> list[tuple[str, str]]:
    return [event_text.describe(e, tz) for e in desk.timeline(number)]


def event(kind: str, details: Any, at: datetime = T0) -> Event:
    return Event(1, 1, at, "alice", kind, details)


def has_control(text: str) -> bool:
    return any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in text)


def test_a_night_on_the_desk_reads_as_sentences(desk: Desk, clock):
    desk.declare("Checkout errors", services=["payments"], started_at=clock.now() - timedelta(minutes=8))
    desk.acknowledge(1)
    desk.set_severity(1, "P1")
    desk.set_severity(1, "P0")
    desk.move(1, Status.INVESTIGATING)
    desk.assign(1, "bob")
    desk.assign(1, "")
    desk.edit(1, "services", "payments, db")
    desk.edit(1, "eta", "04:00")
    desk.edit(1, "eta", "")
    desk.note(1, "Rolled back\nthe 02:40 deploy")
    desk.record_message(1, template="initial", via="clipboard", text="[P0] Checkout errors")
    desk.record_message(
        1, template="update", via="webhook", text="[P0] Status", next_update_at=clock.now() + timedelta(minutes=30)
    )
    desk.record_breach(1, "next_update", "Next update", clock.now())
    desk.record_breach(1, "escalate:engineering-manager", "Escalate to Engineering Manager", clock.now())
    desk.check_step(1, runbook="payments", version="1", step=3, text="Roll back the deploy", checked=True)
    desk.check_step(1, runbook="payments", version="1", step=3, text="Roll back the deploy", checked=False)
    desk.move(1, Status.MITIGATED)
    desk.edit(1, "root_cause", "A bad deploy")
    desk.edit(1, "resolution", "Rolled back")
    desk.move(1, Status.RESOLVED)

    assert lines(desk) == [
        ("Declared: Checkout errors (payments)", ""),
        ("Acknowledged, 3m00s after the deadline", "warning"),
        ("Severity set to P1", ""),
        ("Severity P1 → P0", ""),
        ("Status acknowledged → investigating", ""),
        ("Assigned to bob", ""),
        ("Unassigned", ""),
        ("Services: payments, db", ""),
        ("ETA: 04:00", ""),
        ("ETA cleared", ""),
        ("Note: Rolled back · the 02:40 deploy", ""),
        ("Initial message sent via clipboard", "success"),
        ("Update message sent via webhook; next update promised for 2026-11-27 03:30 UTC", "success"),
        ("Deadline missed: Next update (due 2026-11-27 03:00 UTC)", "error"),
        ("Time to escalate to Engineering Manager (2026-11-27 03:00 UTC)", "error"),
        ("Runbook step 3 checked: Roll back the deploy", ""),
        ("Runbook step 3 unchecked: Roll back the deploy", ""),
        ("Status investigating → mitigated", "success"),
        ("Root cause: A bad deploy", ""),
        ("Resolution: Rolled back", ""),
        ("Status mitigated → resolved", "success"),
    ]


def test_the_review_reads_as_sentences(desk: Desk, clock):
    desk.declare("Checkout errors", severity="P1")
    desk.acknowledge(1)
    desk.edit(1, "root_cause", "A bad deploy")
    desk.edit(1, "resolution", "Rolled back")
    desk.move(1, Status.RESOLVED)
    clock.advance(hours=30)
    review.schedule(desk, 1, clock.now() + timedelta(hours=1), ["ava", "sam"])
    review.schedule(desk, 1, clock.now() + timedelta(hours=2))
    item = review.add_item(desk, 1, "Add a canary", owner="sam", due=date(2026, 12, 4))
    review.add_item(desk, 1, "Page on checkout errors")
    review.edit_item(desk, item.id, owner="dana", due=None)
    review.set_done(desk, item.id, True)
    review.set_done(desk, item.id, False)
    clock.advance(hours=30)
    review.complete(desk, 1, notes="Held; blameless")

    assert lines(desk)[5:] == [
        ("Review scheduled for 2026-11-28 10:00 UTC with ava, sam", ""),
        ("Review moved to 2026-11-28 11:00 UTC (was 2026-11-28 10:00 UTC)", ""),
        ("Action item #1 added: Add a canary (owner sam, due 2026-12-04)", ""),
        ("Action item #2 added: Page on checkout errors", ""),
        ("Action item #1 edited: due → —; owner → dana", ""),
        ("Action item #1 done: Add a canary", "success"),
        ("Action item #1 reopened: Add a canary", ""),
        ("Review completed, 12h00m after the deadline: Held; blameless", "warning"),
    ]


def test_a_waived_review_and_a_review_on_time(desk: Desk, clock):
    for title in ("Slow search", "Login failures"):
        desk.declare(title, severity="P1")
        number = desk.incidents()[-1].number
        desk.acknowledge(number)
        desk.edit(number, "root_cause", "x")
        desk.edit(number, "resolution", "y")
        desk.move(number, Status.RESOLVED)
    review.waive(desk, 1, "Covered by the INC-0 review")
    review.complete(desk, 2)
    assert lines(desk, 1)[-1] == ("Review waived: Covered by the INC-0 review", "")
    assert lines(desk, 2)[-1] == ("Review completed", "success")


def alert(
    fp: str,
    name: str = "HighLatency",
    starts_at: datetime = T0 - timedelta(minutes=10),
    silenced_by: tuple[str, ...] = (),
    **labels: str,
) -> Alert:
    labels = {"alertname": name, "severity": "critical", "service": "api", **labels}
    return Alert(fp, labels, {"summary": "API latency above 2s"}, starts_at, silenced_by=silenced_by)


def test_the_alert_intake_reads_as_sentences(desk: Desk, clock):
    desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, group_by=("alertname",)))
    sid = "4c0a02f1-ea28-4720-8a99-553ce400c49d"
    carols = {sid: Silence(sid, "carol", "disk maintenance", "active", None, T0 + timedelta(hours=2))}
    a, b = alert("a", instance="1"), alert("b", instance="2", starts_at=T0 - timedelta(minutes=5))
    reconcile(desk, [a])
    reconcile(desk, [a, b])
    reconcile(desk, [b])
    reconcile(desk, [])
    reconcile(desk, [replace(b, starts_at=T0, silenced_by=(sid,))], silences=carols)
    # The desk's own silence, as the intake records it after Alertmanager accepted it.
    ends = "2026-11-27T05:00:00Z"
    desk.act(1, "silence_created", lambda inc, now: ({"silence_id": "s1"}, {"silence_id": "s1", "ends_at": ends}))
    desk.act(1, "silence_expired", lambda inc, now: ({"silence_id": ""}, {"silence_id": "s1", "already_gone": True}))

    assert lines(desk) == [
        ("Declared as P1 from an alert: API latency above 2s (api)", ""),
        # It fired ten minutes ago: its first clocks had run out when it arrived.
        ("Deadline missed: Acknowledge (due 2026-11-27 02:55 UTC)", "error"),
        ("Time to escalate to Secondary On-Call (2026-11-27 02:55 UTC)", "error"),
        ("Alert HighLatency joined this incident (firing since 2026-11-27 02:55 UTC)", "warning"),
        ("Alert HighLatency stopped firing; 1 still firing", ""),
        ("Alert HighLatency stopped firing — confirm, then resolve the incident", "success"),
        ("Alert HighLatency fired again (since 2026-11-27 03:00 UTC)", "warning"),
        ("Already silenced in Alertmanager by carol until 2026-11-27 05:00 UTC: “disk maintenance”", "warning"),
        ("Acknowledged through an Alertmanager silence (someone has it), 5m00s after the deadline", "warning"),
        ("Alert silenced in Alertmanager until 2026-11-27 05:00 UTC", ""),
        ("Alertmanager silence expired (it had already ended)", ""),
    ]


# One realistic details record per kind, in the shape its writer records it.
SAMPLES: dict[str, dict[str, Any]] = {
    "declared": {"title": "Login failures", "severity": "P1", "services": ["identity"], "source": "manual"},
    "acknowledged": {},
    "severity_set": {"from": None, "to": "P2"},
    "status_changed": {"from": "triggered", "to": "investigating"},
    "assigned": {"field": "assignee", "from": "", "to": "bob"},
    "message_saved": {"template": "update", "path": "/home/a/INC-1-update.txt", "text": "[P1] …"},
    "role_assigned": {"role": "commander", "name": "Incident commander", "from": "", "to": "dana"},
    "field_edited": {"field": "contributing_factors", "from": "", "to": "- Peak traffic\n- No alert"},
    "note": {"text": "Cache is empty"},
    "start_corrected": {"from": "2026-11-27T03:00:00Z", "to": "2026-11-27T02:40:00Z"},
    "message_sent": {
        "template": "update",
        "via": "webhook",
        "text": "[P1] …",
        "next_update_at": "2026-11-27T03:30:00Z",
    },
    "deadline_breached": {"deadline": "acknowledge", "label": "Acknowledge", "due_at": "2026-11-27T03:05:00Z"},
    "page": {
        "key": "INC-1:L0",
        "level": "Primary On-Call",
        "person": "ava",
        "name": "Ava",
        "reason": "new",
        "channels": ["mailto://smtp.example → ava@example.com"],
    },
    "page_result": {
        "key": "INC-1:L0",
        "person": "ava",
        "name": "Ava",
        "delivered": False,
        "channels": [
            {
                "channel": "ntfy://ntfy.example",
                "delivered": False,
                "attempts": [{"ok": False, "result": "HTTP 500", "seconds": 0.1}],
            }
        ],
    },
    "page_resent": {"key": "INC-1:L0", "person": "ava", "note": "the sender stopped; sending again"},
    "override_moved_page": {
        "override": 3,
        "action": "made",
        "level": "Primary On-Call",
        "schedule": "primary",
        "from": "ava",
        "from_name": "Ava Jones",
        "to": "chen",
        "to_name": "Chen Li",
    },
    "runbook_step": {"runbook": "identity", "version": "1", "step": 2, "text": "Check the JWKS cache", "checked": True},
    "review_scheduled": {"for": "2026-11-28T10:00:00Z", "attendees": ["ava"]},
    "review_completed": {"notes": "Held"},
    "review_waived": {"reason": "Duplicate of INC-3"},
    "action_item_added": {"item": 4, "title": "Alert on cache size", "owner": "sam", "due": ""},
    "action_item_edited": {
        "item": 4,
        "title": "Alert on cache size",
        "changes": {"owner": {"from": "sam", "to": "ava"}},
    },
    "action_item_done": {"item": 4, "title": "Alert on cache size"},
    "action_item_reopened": {"item": 4, "title": "Alert on cache size"},
    "alert_fired": {"alerts": [{"fingerprint": "f", "alertname": "HighLatency", "starts_at": "2026-11-27T02:50:00Z"}]},
    "alert_refired": {
        "alerts": [{"fingerprint": "f", "alertname": "HighLatency", "starts_at": "2026-11-27T02:58:00Z"}]
    },
    "alert_resolved": {"alerts": [{"fingerprint": "f", "alertname": "HighLatency"}], "remaining": 0},
    "silence_created": {"silence_id": "s1", "ends_at": "2026-11-27T05:00:00Z", "comment": "INC-1 acknowledged"},
    "silence_expired": {"silence_id": "s1", "reason": "incident resolved"},
    "silence_renewed": {"silence_id": "s2", "previous_id": "s1", "ends_at": "2026-11-27T07:00:00Z"},
    "silence_ended": {"silence_id": "s1", "reason": "expired_elsewhere", "ends_at": "2026-11-27T04:00:00Z"},
    "maintenance_began": {
        "alerts": [{"fingerprint": "a", "alertname": "DiskFull"}],
        "why": "inhibited by a bigger alert",
    },
    "maintenance_ended": {"alerts": [{"fingerprint": "a", "alertname": "DiskFull"}]},
    "alert_severity_raised": {"alerts": [{"fingerprint": "b", "alertname": "DBDown"}], "from": "P2", "to": "P0"},
    "silenced_elsewhere": {
        "silence_id": "s2",
        "created_by": "carol",
        "comment": "maintenance",
        "ends_at": "2026-11-27T05:00:00Z",
        "alertname": "HighLatency",
    },
}


def test_every_kind_the_desk_writes_has_its_own_wording():
    assert set(SAMPLES) == set(event_text.KNOWN_KINDS)
    for kind, details in SAMPLES.items():
        text, tone = event_text.describe(event(kind, details), UTC)
        assert text and tone in event_text.TONES, kind
        assert text != event_text.describe(event(f"{kind}_v2", details), UTC)[0], f"{kind} fell back"


def test_an_unknown_kind_reads_as_its_name_and_plain_values():
    details = {"result": "ok", "events": 22, "chain": {"head": "622c"}, "ids": [1, 2], "empty": "", "gone": None}
    assert event_text.describe(event("integrity_checked", details)) == ("Integrity checked: result=ok, events=22", "")
    assert event_text.describe(event("integrity_checked", {})) == ("Integrity checked", "")
    long = event_text.describe(event("imported", {"log": "x" * 500}))[0]
    assert long == "Imported: log=" + "x" * 79 + "…"


@pytest.mark.parametrize(
    "kind, details",
    [
        ("declared", {"title": "X", "services": 5}),
        ("action_item_edited", {"item": 1, "changes": ["owner"]}),
        ("deadline_breached", {"deadline": "acknowledge", "due_at": "yesterday-ish"}),
        ("acknowledged", {"late_by_seconds": float("inf")}),
        ("alert_fired", {"alerts": "HighLatency"}),
        ("note", ["not", "a", "mapping"]),
    ],
)
def test_details_of_the_wrong_shape_still_read_as_a_line(kind, details):
    text, tone = event_text.describe(event(kind, details), UTC)
    assert text.startswith(kind.replace("_", " ").capitalize()) and tone == ""


def poisoned(value: Any) -> Any:
    if isinstance(value, str):
        return f"{EVIL}{value}{EVIL}" if not value.endswith("Z") else value  # keep instants parseable
    if isinstance(value, list):
        return [poisoned(v) for v in value]
    if isinstance(value, dict):
        return {k: poisoned(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("kind", [*SAMPLES, "unknown_kind"])
def test_control_characters_in_details_never_reach_the_output(kind):
    details = poisoned(SAMPLES.get(kind, {"text": "hello"}))
    text, _ = event_text.describe(event(kind, details), UTC)
    assert not has_control(text), repr(text)
    document = event_text.describe(event(kind, details), UTC, multiline=True)[0]
    assert not has_control(document.replace("\n", "")), repr(document)


def test_line_breaks_are_kept_only_for_a_document_that_can_show_them():
    e = event("field_edited", SAMPLES["field_edited"])
    assert event_text.describe(e, UTC) == ("Contributing factors: - Peak traffic · - No alert", "")
    assert event_text.describe(e, UTC, multiline=True) == ("Contributing factors: - Peak traffic\n- No alert", "")


def test_times_are_in_the_zone_asked_for_or_the_users_own(monkeypatch):
    e = event("review_scheduled", SAMPLES["review_scheduled"])
    assert event_text.describe(e, UTC)[0] == "Review scheduled for 2026-11-28 10:00 UTC with ava"
    new_york = timezone(timedelta(hours=-5))
    assert event_text.describe(e, new_york)[0] == "Review scheduled for 2026-11-28 05:00 UTC-05:00 with ava"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert event_text.describe(e)[0] == "Review scheduled for 2026-11-28 19:00 JST with ava"
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(sorted({k for d in SAMPLES.values() for k in d} | {"to", "from", "label"}))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from([*SAMPLES, "unknown_kind"]), details=st.dictionaries(field_names, json_values, max_size=6))
def test_any_details_at_all_give_one_clean_line(kind, details):
    text, tone = event_text.describe(event(kind, json.loads(json.dumps(details))), UTC)
    assert isinstance(text, str) and "\n" not in text and not has_control(text)
    assert tone in event_text.TONES
