"""One poll's alerts against the desk: what to declare, what to add to which timeline.

The rules, in the runbook's terms:

- A new alert (fingerprint, or group under `policy.alerts.group_by`) becomes an incident that
  starts at the alert's `startsAt`, so its acknowledgement clock counts from when the alert began.
- An alert already behind an open incident adds nothing — unless it fired again (a new `startsAt`,
  or it came back after disappearing): then a timeline event, never a second incident.
- An alert that disappears is written on its incident's timeline and flags it
  (`alert_state = "resolved"`) for the engineer to confirm. The desk never resolves an incident on
  its own: a vanished alert may be a fix, or a broken exporter.
- Another desk's silence over an alert is noted once, naming who set it.
- A poll with nothing new writes nothing: no event, no version bump, no `data_version` change.

What the desk already knows about each incident's alerts is read back from the timeline (every
event here records the fingerprints and start times it is about), so there is no second copy of that
state to drift. All writes go through `Desk`, one transaction per step; planning is separate from
applying so the UI can yield to the screen between the steps of a large import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..breaches import Clocks
from ..clock import iso
from ..desk import ActionRefused, Decision, Desk
from ..model import Incident, Severity, Status, format_id
from ..policy import AlertPolicy
from ..tenants import merge as merge_tenants
from ..tenants import tenants_from_labels
from .describe import describe_alert_event, plain
from .mapping import Draft, RunbookMatcher, draft_for, group_key, member_record, severity_for
from .parse import Alert, Silence

INTAKE_ACTOR = "alertmanager"  # who the timeline says saw the alert
MEMBER_KINDS = ("declared", "alert_fired", "alert_refired", "alert_resolved")
HISTORY_KINDS = (*MEMBER_KINDS, "silenced_elsewhere", "silence_created", "silence_ended")
# An on-call desk's acknowledgement silence (this one's or another's): "INC-4 acknowledged by …".
DESK_SILENCE = re.compile(r"^(INC-\d+) acknowledged by .* on the on-call desk")
_RANK = {Severity.P0: 0, Severity.P1: 1, Severity.P2: 2, Severity.P3: 3}


@dataclass(frozen=True, slots=True)
class Change:
    """One thing a poll wrote, as a line for the CLI or a notification."""

    kind: str
    incident: int
    text: str


def change_for(number: int, kind: str, details: Mapping[str, Any]) -> Change:
    """An intake event as a line: `INC-4: Alert X fired again (since …)`."""
    text, _tone = describe_alert_event(kind, details) or (kind.replace("_", " "), "")
    return Change(kind, number, f"{format_id(number)}: {text}")


@dataclass(slots=True)
class Member:
    starts_at: str | None  # as recorded (ISO), compared as text: exact and cheap
    alertname: str = ""
    gone: bool = False


@dataclass(slots=True)
class Tracked:
    """An alert-born incident: the little of its row a poll needs, and its alerts per its timeline."""

    number: int
    alert_state: str = ""
    silence_id: str = ""
    acknowledged: bool = False
    has_labels: bool = True
    members: dict[str, Member] = field(default_factory=dict)
    silences_noted: set[str] = field(default_factory=set)
    silenced_before: bool = False
    severity: Severity | None = None
    status: Status = Status.TRIGGERED
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, incident: Incident) -> Tracked:
        return cls(
            incident.number,
            incident.alert_state,
            incident.silence_id,
            incident.acknowledged_at is not None,
            bool(incident.labels),
            severity=incident.severity,
            status=incident.status,
            labels=dict(incident.labels),
        )

    @property
    def id(self) -> str:
        return format_id(self.number)

    def replay(
        self, kind: str, alerts: Sequence[Mapping[str, Any]] | None, silence_id: str | None, reason: str | None = None
    ) -> None:
        for record in alerts or ():
            fp = record.get("fingerprint") if isinstance(record, dict) else None
            if not fp:
                continue
            if kind == "alert_resolved":
                if fp in self.members:
                    self.members[fp].gone = True
            else:
                self.members[fp] = Member(record.get("starts_at"), record.get("alertname") or "")
        if kind == "silenced_elsewhere" and silence_id:
            self.silences_noted.add(silence_id)
        elif kind == "silence_created":
            self.silenced_before = True
        elif kind == "silence_ended" and reason == "lost":
            self.silenced_before = False  # lost with an Alertmanager: the desk silences it again

    @property
    def firing(self) -> list[str]:
        return [fp for fp, m in self.members.items() if not m.gone]


# --- what the desk knows -----------------------------------------------------------------------


def load_tracked(desk: Desk) -> dict[str, Tracked]:
    """Open alert-born incidents by key, with their alerts replayed from the timeline.

    Two narrow queries whatever the number of incidents, because the steady-state poll is
    dominated by this read: only the columns and the parts of each event a poll needs, not whole
    incidents and timelines (1,000 incidents: ~10 ms instead of ~60).
    """
    tracked: dict[str, Tracked] = {}
    by_number: dict[int, Tracked] = {}
    # Should a race ever leave two open incidents on one key, the newer one takes the alerts.
    for number, key, state, silence, acked, labels, severity, status in desk.store.open_alert_rows():
        parsed = json.loads(labels) if labels != "{}" else {}
        tracked[key] = by_number[number] = Tracked(
            number,
            state,
            silence,
            acked,
            bool(parsed),
            severity=Severity(severity) if severity else None,
            status=Status(status),
            labels=parsed,
        )
    if not by_number:
        return tracked
    events = desk.store.open_alert_history(HISTORY_KINDS)
    for number, kind, alerts, silence_id, reason in events:
        if (t := by_number.get(number)) is not None:
            t.replay(kind, json.loads(alerts) if alerts else None, silence_id, reason)
    return tracked


def history(desk: Desk, incident: Incident) -> Tracked:
    t = Tracked.of(incident)
    for event in desk.timeline(incident.number):
        if event.kind in HISTORY_KINDS:
            t.replay(
                event.kind, event.details.get("alerts"), event.details.get("silence_id"), event.details.get("reason")
            )
    return t


# --- steps --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declare:
    draft: Draft
    recurrence_of: str = ""
    silences: Mapping[str, Silence] | None = None
    maintenance: str = ""  # why it arrived held back ("silenced by bob until …"); "" when live

    def apply(self, desk: Desk) -> list[Change]:
        d = self.draft
        now = desk.now()
        # Alertmanager's clock may run ahead of ours; an alert is never "from the future".
        started = min(d.started_at, now) if d.started_at is not None else now
        details = d.details()
        if self.recurrence_of:
            details["recurrence_of"] = self.recurrence_of
        inc = desk.declare(
            d.title,
            severity=d.severity,
            services=d.services,
            symptom=d.symptom,
            started_at=started,
            source="alert",
            fingerprint=d.key,
            labels=d.labels,
            tenants=", ".join(d.tenants),
            actor=INTAKE_ACTOR,
            details=details,
            alert_state="maintenance" if self.maintenance else "",
        )
        facts = [inc.severity.value if inc.severity else "severity not determined", *inc.services]
        text = f"{inc.id} declared from alert {plain(d.alerts[0].name) or d.key}: {inc.title} ({', '.join(facts)})"
        if len(d.alerts) > 1:
            text += f", {len(d.alerts)} alerts"
        if self.recurrence_of:
            text += f", firing again after {self.recurrence_of}"
        if d.cut:
            text += "; " + "; ".join(d.cut)
        if self.maintenance:
            text += ", in maintenance"
        changes = [Change("declared", inc.number, text)]
        if self.maintenance:
            why = {"alerts": [member_record(a) for a in d.alerts], "why": self.maintenance}
            changes.extend(Append(inc.number, "maintenance_began", why).apply(desk))
            return changes
        # An alert that arrives already silenced by another desk: say who, and that they have it.
        t = Tracked(inc.number, silence_id=inc.silence_id)
        for note in _silenced_elsewhere(t, d.alerts, self.silences):
            changes.extend(note.apply(desk))
        # An alert that began long ago arrives with its first clocks run out: written here, in the
        # import's own transaction, rather than by the board's recorder afterwards (a storm of hour-old
        # alerts is thousands of breaches, and each of the recorder's commits made every board re-read
        # the incidents it touched, long after the import).
        for b in Clocks(inc, desk.deadlines(inc)).running_breaches():
            if b.due_at is not None:
                desk.record_breach(inc.number, b.key, b.label, b.due_at)
        return changes


@dataclass(frozen=True, slots=True)
class Append:
    number: int
    kind: str
    details: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)

    def apply(self, desk: Desk) -> list[Change]:
        def decide(inc: Incident, now: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            changes = dict(self.changes)
            # Alerts joining a group bring their tenants: the incident's list grows, never shrinks.
            merged = merge_tenants(inc.tenants, self.details.get("tenants") or ())
            if merged != inc.tenants:
                changes["tenants"] = merged
            return changes, self.details

        desk.act(self.number, self.kind, decide, actor=INTAKE_ACTOR)
        return [change_for(self.number, self.kind, self.details)]


@dataclass(frozen=True, slots=True)
class AckBySilence:
    """Someone has it: a silence over the alert (another desk's acknowledgement, a person in
    Alertmanager's UI) acknowledges the incident in the silence creator's name."""

    number: int
    silence: Silence

    def apply(self, desk: Desk) -> list[Change]:
        s = self.silence
        details = {"via": "silence", "silence_id": s.id, "comment": s.comment, "ends_at": iso(s.ends_at)}
        try:
            inc = desk.acknowledge(self.number, actor=plain(s.created_by)[:200] or "someone", details=details)
        except ActionRefused:
            return []  # acknowledged meanwhile, on this desk or one sharing its file
        return [
            Change(
                "acknowledged", inc.number, f"{inc.id}: acknowledged by {inc.acknowledged_by} (Alertmanager silence)"
            )
        ]


@dataclass(frozen=True, slots=True)
class GoLive:
    """A maintenance-born incident whose alert is no longer held back: its clocks start now."""

    number: int
    alerts: tuple[Alert, ...]

    def apply(self, desk: Desk) -> list[Change]:
        details = {"alerts": [member_record(a) for a in self.alerts]}
        desk.act(
            self.number,
            "maintenance_ended",
            lambda inc, now: ({"alert_state": "firing", "live_at": now}, details),
            actor=INTAKE_ACTOR,
        )
        return [change_for(self.number, "maintenance_ended", details)]


@dataclass(frozen=True, slots=True)
class RaiseSeverity:
    """A later, graver member of a grouped storm: the group's incident takes its severity."""

    number: int
    severity: Severity
    alert: Alert

    def apply(self, desk: Desk) -> list[Change]:
        details: dict[str, Any] = {"alerts": [member_record(self.alert)], "to": self.severity.value}

        def decide(inc: Incident, now: datetime) -> Decision:
            if not inc.is_open or (inc.severity is not None and _RANK[inc.severity] <= _RANK[self.severity]):
                return None
            details["from"] = inc.severity.value if inc.severity else None
            changes: dict[str, Any] = {"severity": self.severity}
            if inc.severity_at is None:
                changes["severity_at"] = now
            return changes, details

        before = desk.get(self.number).version
        if desk.act(self.number, "alert_severity_raised", decide, actor=INTAKE_ACTOR).version == before:
            return []
        return [change_for(self.number, "alert_severity_raised", details)]


Step = Declare | Append | AckBySilence | GoLive | RaiseSeverity


# --- planning -----------------------------------------------------------------------------------


def plan(
    desk: Desk,
    alerts: Sequence[Alert],
    *,
    silences: Mapping[str, Silence] | None = None,
    matcher: RunbookMatcher | None = None,
    tracked: dict[str, Tracked] | None = None,
    unsure: frozenset[str] = frozenset(),
    complete: bool = True,
) -> list[Step]:
    """The steps that bring the desk in line with `alerts`; an empty list when nothing is new.

    An alert missing from `alerts` counts as stopped only when the view is `complete` (every
    alert read, from an Alertmanager that has had time to receive them) and its fingerprint is not
    in `unsure` (last seen on an Alertmanager that is down or just restarted now).
    """
    policy = desk.policy.alerts
    tracked = load_tracked(desk) if tracked is None else tracked
    groups: dict[str, tuple[dict[str, str], list[Alert]]] = {}
    for alert in sorted(alerts, key=_oldest_first):
        key, labels = group_key(alert, policy.group_by)
        groups.setdefault(key, (labels, []))[1].append(alert)

    steps: list[Step] = []
    for key, (labels, members) in groups.items():
        t = tracked.get(key)
        if t is None:
            steps.extend(_new(desk, key, labels, members, policy, matcher, silences))
        else:
            steps.extend(_known(t, members, policy, unsure if complete else None))
            steps.extend(_silenced_elsewhere(t, members, silences))
    if complete:
        for key, t in tracked.items():
            if key not in groups and (gone := [fp for fp in t.firing if fp not in unsure]):
                steps.append(_resolved(t, gone, remaining=len(t.firing) - len(gone)))
    return steps


@dataclass(frozen=True, slots=True)
class Outcome:
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = ()  # steps the desk refused; the others were written

    @property
    def wrote(self) -> bool:
        return bool(self.changes)


def apply(desk: Desk, steps: Iterable[Step]) -> Outcome:
    """Apply each step in its own transaction; a refused step is reported and the rest go on."""
    changes: list[Change] = []
    problems: list[str] = []
    for step in steps:
        try:
            changes.extend(step.apply(desk))
        except ActionRefused as exc:
            problems.append(refused(step, exc))
    return Outcome(tuple(changes), tuple(problems))


def refused(step: Step, exc: Exception) -> str:
    """A refused step, naming the alert or incident it was for (every poll may repeat it)."""
    if isinstance(step, Declare):
        first = step.draft.alerts[0]
        return f"alert {plain(first.name) or step.draft.key} ({first.fingerprint}) was not imported: {exc}"
    kind = step.kind if isinstance(step, Append) else type(step).__name__
    return f"{format_id(step.number)}: {kind.replace('_', ' ')} not recorded: {exc}"


def reconcile(
    desk: Desk,
    alerts: Sequence[Alert],
    *,
    silences: Mapping[str, Silence] | None = None,
    matcher: RunbookMatcher | None = None,
) -> Outcome:
    """Plan and apply in one go."""
    return apply(desk, plan(desk, alerts, silences=silences, matcher=matcher))


def _new(
    desk: Desk,
    key: str,
    labels: dict[str, str],
    members: list[Alert],
    policy: AlertPolicy,
    matcher: RunbookMatcher | None,
    silences: Mapping[str, Silence] | None,
) -> list[Step]:
    previous = desk.find_by_fingerprint(key, open_only=False)
    if previous is not None:
        past = history(desk, previous)
        # The same firing the engineer already resolved (the alert lingers until Prometheus
        # clears it): that is not a new incident. A new startsAt is.
        if all(
            a.fingerprint in past.members and past.members[a.fingerprint].starts_at == iso(a.starts_at) for a in members
        ):
            return []
    draft = draft_for(key, labels, members, policy, matcher)
    return [Declare(draft, previous.id if previous is not None else "", silences, _held_back(members, silences))]


def _held_back(members: Sequence[Alert], silences: Mapping[str, Silence] | None) -> str:
    """Why alerts arriving for a new incident are in maintenance, or "" when they are live.

    Every member must be held back: silenced by a person's silence (a maintenance window), or
    inhibited (a bigger alert covers it: a host down inhibits the service alerts on it). A desk's
    acknowledgement silence is not maintenance: it says another desk has the incident.
    """
    whys = []
    for alert in members:
        if alert.inhibited_by:
            whys.append("inhibited by a bigger alert")
            continue
        if not alert.silenced_by:
            return ""
        found = [silences[sid] for sid in alert.silenced_by if silences is not None and sid in silences]
        if any(DESK_SILENCE.match(s.comment) for s in found):
            return ""
        s = found[0] if found else None
        if s is None:
            whys.append("silenced")
        else:
            whys.append(f"silenced by {plain(s.created_by) or 'someone'} until {iso(s.ends_at) or 'further notice'}")
    return whys[0] if whys else ""


def _known(t: Tracked, members: Sequence[Alert], policy: AlertPolicy, unsure: frozenset[str] | None) -> list[Step]:
    joined, refired = [], []
    for alert in members:
        seen = t.members.get(alert.fingerprint)
        if seen is None:
            joined.append(alert)
        elif seen.gone or seen.starts_at != iso(alert.starts_at):
            refired.append(alert)
    # Whichever event says the incident's alerts fire again also lifts the "stopped firing" flag.
    flag = {"alert_state": "firing"} if t.alert_state == "resolved" else {}
    steps_first: list[Step] = []
    if t.alert_state == "maintenance":
        flag = {}
        live = [a for a in members if not a.silenced_by and not a.inhibited_by]
        if live:
            steps_first.append(GoLive(t.number, tuple(live)))
    steps: list[Step] = steps_first
    if refired:
        steps.append(Append(t.number, "alert_refired", {"alerts": [member_record(a) for a in refired]}, flag))
        flag = {}
    if joined:
        details: dict[str, Any] = {"alerts": [member_record(a) for a in joined]}
        if tenants := tenants_from_labels((a.labels for a in joined), policy.tenant_labels):
            details["tenants"] = list(tenants)
        steps.append(Append(t.number, "alert_fired", details, flag))
    graver = [(sev, a) for a in (*joined, *refired) if (sev := severity_for(a, policy)) is not None]
    if graver and t.status.is_open:
        sev, alert = min(graver, key=lambda pair: _RANK[pair[0]])
        if t.severity is None or _RANK[sev] < _RANK[t.severity]:
            steps.append(RaiseSeverity(t.number, sev, alert))
    if unsure is not None:
        present = {a.fingerprint for a in members}
        gone = [fp for fp in t.firing if fp not in present and fp not in unsure]
        if gone:
            kept = {fp for fp in t.firing if fp in unsure}  # last seen on an Alertmanager now away
            steps.append(_resolved(t, gone, remaining=len(present | kept)))
    return steps


def _resolved(t: Tracked, gone: Sequence[str], *, remaining: int) -> Append:
    """Alerts gone from Alertmanager; when the last one goes, the incident is flagged, not resolved."""
    records = [
        {"fingerprint": fp, "alertname": t.members[fp].alertname, "starts_at": t.members[fp].starts_at} for fp in gone
    ]
    # A maintenance incident whose alert stopped stays in maintenance: nothing was asked of anyone.
    flag = {"alert_state": "resolved"} if remaining == 0 and t.alert_state != "maintenance" else {}
    return Append(t.number, "alert_resolved", {"alerts": records, "remaining": remaining}, flag)


def _silenced_elsewhere(t: Tracked, members: Sequence[Alert], silences: Mapping[str, Silence] | None) -> list[Step]:
    """Another desk (or amtool, or the web UI) silenced the alert: say who, once per silence, and
    count it as an acknowledgement — someone has it, so this desk's clocks stop and nobody here is
    escalated for an incident another desk is already working."""
    steps: list[Step] = []
    if t.alert_state == "maintenance":
        return steps  # it arrived silenced; its maintenance note said by whom
    seen = set(t.silences_noted)
    taken: Silence | None = None
    for alert in members:
        for sid in alert.silenced_by:
            if sid == t.silence_id or silences is None or sid not in silences:
                continue
            s = silences[sid]
            if taken is None and s.live:
                taken = s
            if sid in seen:
                continue
            seen.add(sid)
            details = {
                "silence_id": sid,
                "created_by": s.created_by,
                "comment": s.comment,
                "ends_at": iso(s.ends_at),
                "alertname": alert.name,
            }
            steps.append(Append(t.number, "silenced_elsewhere", details))
    if taken is not None and not t.acknowledged and t.status is Status.TRIGGERED and t.alert_state != "maintenance":
        steps.append(AckBySilence(t.number, taken))
    return steps


def _oldest_first(alert: Alert) -> tuple[str, str]:
    return (iso(alert.starts_at) or "~", alert.fingerprint)
