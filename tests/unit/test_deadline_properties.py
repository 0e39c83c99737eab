"""Properties of the deadline computation (and of the alert parser) that must hold for every input,
checked by hypothesis over random incidents, policies and instants."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.alerts.parse import Alert, AlertPayloadError, parse_alerts
from oncall_tui.deadlines import Deadlines, State, compute
from oncall_tui.model import Incident, Severity, Status
from oncall_tui.policy import Policy, load_policy

UTC = UTC
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
SHIPPED = load_policy(use_user_config=False)
TIME_FIELDS = [
    f.name for f in dataclasses.fields(Incident) if f.name.endswith("_at") or f.name == "review_scheduled_for"
]

minutes = st.integers(min_value=0, max_value=4 * 24 * 60)


def _after(draw, moment: datetime | None, *, optional: bool = True, hi: int = 6 * 60) -> datetime | None:
    if moment is None or (optional and draw(st.booleans())):
        return None
    return moment + timedelta(minutes=draw(st.integers(min_value=0, max_value=hi)), seconds=draw(st.integers(0, 59)))


@st.composite
def incidents(draw) -> Incident:
    """An incident whose milestones happened in a possible order (each after what it needs)."""
    start = T0 + timedelta(minutes=draw(st.integers(min_value=-600, max_value=600)))
    declared = start + timedelta(minutes=draw(st.integers(min_value=0, max_value=180)))
    severity = draw(st.none() | st.sampled_from(Severity))
    acknowledged = _after(draw, declared)
    mitigated = _after(draw, acknowledged)
    resolved = _after(draw, mitigated or acknowledged) if severity is not None else None
    closed = _after(draw, resolved)
    notified = _after(draw, declared)
    last_update = _after(draw, notified)
    next_update = _after(draw, last_update, hi=120)
    review_done = _after(draw, resolved, hi=72 * 60)
    if closed is not None:
        status = Status.CLOSED
    elif resolved is not None:
        status = Status.RESOLVED
    elif mitigated is not None:
        status = Status.MITIGATED
    elif acknowledged is not None:
        status = draw(st.sampled_from([Status.ACKNOWLEDGED, Status.INVESTIGATING]))
    else:
        status = Status.TRIGGERED
    return Incident(
        number=1,
        title="Login failures",
        status=status,
        started_at=start,
        declared_at=declared,
        severity=severity,
        severity_at=_after(draw, declared, optional=False, hi=60) if severity is not None else None,
        acknowledged_at=acknowledged,
        acknowledged_by="alice" if acknowledged else "",
        notified_at=notified,
        last_update_at=last_update,
        next_update_at=next_update,
        mitigated_at=mitigated,
        resolved_at=resolved,
        closed_at=closed,
        review_done_at=review_done,
        review_waived=draw(st.sampled_from(["", "", "no customer impact"])),
    )


@st.composite
def policies(draw) -> Policy:
    """The shipped policy with its three first deadlines set anywhere from 1 minute to 2 hours."""
    return dataclasses.replace(
        SHIPPED,
        acknowledge=timedelta(minutes=draw(st.integers(1, 120))),
        severity=timedelta(minutes=draw(st.integers(1, 120))),
        stakeholders=timedelta(minutes=draw(st.integers(1, 120))),
    )


def _latest(incident: Incident) -> datetime:
    return max(getattr(incident, name) for name in TIME_FIELDS if getattr(incident, name) is not None)


@st.composite
def cases(draw) -> tuple[Incident, Policy, datetime, datetime]:
    """An incident, a policy and two instants `now1 <= now2`, both after everything that happened."""
    incident = draw(incidents())
    now1 = _latest(incident) + timedelta(minutes=draw(minutes))
    now2 = now1 + timedelta(minutes=draw(minutes), seconds=draw(st.integers(0, 59)))
    return incident, draw(policies()), now1, now2


def _states(dl: Deadlines) -> dict[str, State]:
    return {d.key: d.state for d in dl.items}


SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(cases())
def test_time_only_moves_a_clock_from_pending_to_breached(case):
    incident, policy, now1, now2 = case
    first, later = compute(incident, policy, now1), compute(incident, policy, now2)
    before, after = _states(first), _states(later)
    assert before.keys() == after.keys()
    first_tier = policy.escalation[1].key
    for key, state in before.items():
        if state is State.PENDING:
            assert after[key] in (State.PENDING, State.BREACHED), key
        elif state is State.NOT_APPLICABLE and key == first_tier and after[key] is not state:
            # Outside the timed escalation severities only a missed acknowledgement pages the next tier.
            assert before["acknowledge"] is State.PENDING and after["acknowledge"] is State.BREACHED
            assert after[key] is State.BREACHED
        else:  # breached stays breached, met stays met, not applicable stays so
            assert after[key] is state, key


@SETTINGS
@given(cases())
def test_met_exactly_when_done_by_the_due_time(case):
    incident, policy, now, _ = case
    for d in compute(incident, policy, now).items:
        if d.done_at is None or d.due_at is None:
            assert d.state is not State.MET, d
            continue
        if d.key.startswith("escalate:"):
            # Reaching a tier's time while still burning escalates: only stopping before it is "met".
            assert (d.state is State.MET) == (d.done_at < d.due_at), d
        else:
            assert (d.state is State.MET) == (d.done_at <= d.due_at), d
            assert d.state in (State.MET, State.BREACHED)


@SETTINGS
@given(cases())
def test_the_escalation_level_never_goes_down(case):
    incident, policy, now1, now2 = case
    first, later = compute(incident, policy, now1).escalation, compute(incident, policy, now2).escalation
    assert first.index <= later.index
    assert later.tier == policy.escalation[later.index]
    stopped = [m for m in (incident.mitigated_at, incident.resolved_at) if m is not None]
    if stopped:  # the fire is out: nobody more senior gets called for it
        assert first.index == later.index and later.next_at is None


@SETTINGS
@given(cases())
def test_which_clocks_do_not_apply(case):
    incident, policy, now, _ = case
    states = _states(compute(incident, policy, now))
    sev = incident.severity
    na = State.NOT_APPLICABLE
    assert (states["stakeholders"] is na) == (sev is None or sev not in policy.stakeholder_severities)
    reviewed = (
        sev in policy.review_severities
        and incident.resolved_at is not None
        and incident.status in (Status.RESOLVED, Status.CLOSED)
        and not incident.review_waived
    )
    assert (states["review"] is na) == (not reviewed)
    if not incident.is_open or incident.mitigated_at is not None:
        assert states["next_update"] is na
    if incident.resolved_at is None:  # resolved before a first-response clock ran out: moot
        assert states["acknowledge"] is not na and states["severity"] is not na


@SETTINGS
@given(cases())
def test_a_running_clock_shows_exactly_the_time_to_its_due(case):
    incident, policy, now, _ = case
    dl = compute(incident, policy, now)
    for d in dl.items:
        if d.due_at is None or d.done_at is not None:
            continue
        if d.stopped_at is not None:  # resolved with the action never taken: frozen at resolution
            assert d.seconds_left == (d.due_at - d.stopped_at).total_seconds() and not d.running
            continue
        assert d.seconds_left == (d.due_at - now).total_seconds()
        # The due instant itself is still on time for an action; a tier's time, though, is the
        # moment its people are called.
        tier = d.key.startswith("escalate:")
        if d.state is State.PENDING:
            assert d.seconds_left > 0 if tier else d.seconds_left >= 0
        elif d.state is State.BREACHED:
            assert d.seconds_left <= 0 if tier else d.seconds_left < 0
    nxt = dl.next_due
    if nxt is not None:
        assert nxt.running and not nxt.key.startswith("escalate:")
        overdue = [d for d in dl.items if d.running and d.state is State.BREACHED and not d.key.startswith("escalate:")]
        if overdue:
            assert nxt.state is State.BREACHED and nxt.due_at == min(d.due_at for d in overdue)


def _shifted(incident: Incident, delta: timedelta) -> Incident:
    return incident.replace(
        **{n: getattr(incident, n) + delta for n in TIME_FIELDS if getattr(incident, n) is not None}
    )


@SETTINGS
@given(cases(), st.integers(min_value=-400 * 24 * 60, max_value=400 * 24 * 60))
def test_only_elapsed_time_matters_not_the_date(case, shift_minutes):
    """Shifting the whole story in time (to a DST night, to next year) changes no clock's state or
    remaining time: the computation only ever subtracts instants."""
    incident, policy, now, _ = case
    delta = timedelta(minutes=shift_minutes)
    here, there = compute(incident, policy, now), compute(_shifted(incident, delta), policy, now + delta)
    assert [(d.key, d.state, d.seconds_left) for d in here.items] == [
        (d.key, d.state, d.seconds_left) for d in there.items
    ]
    assert here.escalation.index == there.escalation.index


# --- the alert parser ------------------------------------------------------------------------------

REAL = [
    {
        "annotations": {"summary": "Login errors above 5%", "runbook_url": "https://wiki/rb"},
        "endsAt": "2026-11-27T15:33:14.967Z",
        "fingerprint": "e7ef66ca8e78a1d6",
        "receivers": [{"name": "pager"}],
        "startsAt": "2026-11-27T03:00:00.000Z",
        "status": {"inhibitedBy": [], "silencedBy": ["4c0a02f1"], "state": "suppressed"},
        "updatedAt": "2026-11-27T15:28:14.967Z",
        "generatorURL": "http://prom/graph",
        "labels": {"alertname": "HighErrorRate", "service": "identity", "severity": "critical"},
    }
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


PATHS = _paths(REAL)


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PATHS), json_values)
def test_a_real_alert_with_any_part_replaced_parses_or_says_what_is_wrong(path, new):
    body = json.dumps(_replace(REAL, path, new))  # NaN and Infinity too: Python and Go both emit them
    try:
        alerts = parse_alerts(body)
    except AlertPayloadError as exc:
        assert str(exc)
        return
    assert all(isinstance(a, Alert) and a.labels and a.fingerprint for a in alerts)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(PATHS), st.sampled_from(["\n", "\x1b[2J", "a\rb", "\u009b31m"]).map(lambda key: {key: None}))
def test_a_payload_error_is_one_line_without_terminal_controls(path, new):
    """The message lands on stderr and in the board's notifications: a key such as "\\x1b[2J" or
    "\\n" in a hostile payload must not repaint the terminal or break the one-line rule."""
    try:
        parse_alerts(json.dumps(_replace(REAL, path, new)))
    except AlertPayloadError as exc:
        assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in str(exc)), repr(str(exc))


times = st.one_of(
    st.text(max_size=40),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,12})?([+-]\d{2}:\d{2}|Z)?\Z"),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["startsAt", "endsAt", "updatedAt"]), times)
def test_any_time_text_is_a_utc_instant_or_a_payload_error(key, text):
    try:
        (alert,) = parse_alerts(json.dumps([{**REAL[0], key: text}]))
    except AlertPayloadError:
        return
    moment = {"startsAt": alert.starts_at, "endsAt": alert.ends_at, "updatedAt": alert.updated_at}[key]
    assert moment is None or moment.utcoffset() == timedelta(0)
