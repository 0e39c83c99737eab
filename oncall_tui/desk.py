"""The desk: every action an engineer (or the alert poller) takes on an incident.

`Desk` ties a `Record`, a `Policy` and a `Clock` together. Each action is one transaction that
reads the incident under the record's write lock, checks the process allows it (raising `ActionRefused`)
and that no other desk got there first (raising `Conflict`, which says who did what and when), then
writes the new state and appends the timeline event. The UI, the CLI and the alert intake all go
through here; nothing else writes to the file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock, format_duration, format_local, iso
from .deadlines import Deadlines, compute
from .lifecycle import ActionRefused, check_move, next_status
from .model import EDITABLE_FIELDS, EDITABLE_TIMES, Event, Incident, Severity, Status, format_id
from .paths import current_actor
from .policy import Policy, load_policy
from .store import StoreError, open_record
from .tenants import Tenants, editable_text, parse_tenants
from .terminal_text import printable

if TYPE_CHECKING:
    from .store import Record

__all__ = ["ActionRefused", "Conflict", "Desk", "NotFound", "StoreError"]

MAX_FIELD_LENGTH = 20_000
RESEND_WINDOW = timedelta(minutes=10)
CLOCK_BEHIND_TOLERANCE = 5.0  # seconds: two desks' clocks may disagree by this much without comment


class Conflict(ActionRefused):
    """Another desk changed the incident first; the message says who, what and how long ago."""

    title = "Changed by another desk"


class NotFound(ActionRefused):
    pass


def clean_text(value: str, *, multiline: bool = True, limit: int = MAX_FIELD_LENGTH) -> str:
    """Strip control characters (a pasted escape sequence must not repaint the terminal later)."""
    raw = str(value)
    if len(raw) > 4 * limit:  # refuse a runaway paste before walking megabytes of it
        raise ActionRefused(f"text is too long ({len(raw):,} characters; at most {limit:,})")
    text = printable(raw, keep="\n\t" if multiline else "")
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > limit:
        raise ActionRefused(f"text is too long ({len(text):,} characters; at most {limit:,})")
    return text


# Actions a user takes that produce an incident with a new status or milestones.
Change = dict[str, Any]
# What an action's `decide` returns: (changes to the incident, the timeline event's details), or None.
Decision = tuple[Change, dict[str, Any]] | None


class Desk:
    def __init__(self, store: Record, policy: Policy, clock: Clock | None = None, actor: str | None = None) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock or SystemClock()
        # The actor comes from $ONCALL_TUI_USER or the login name and is shown on every timeline line.
        self.actor = clean_text((actor or current_actor())[:200], multiline=False) or "unknown"

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        policy: Policy | None = None,
        clock: Clock | None = None,
        actor: str | None = None,
        readonly: bool = False,
    ) -> Desk:
        return cls(open_record(path, readonly=readonly), policy or load_policy(), clock, actor)

    def reopen(self, *, readonly: bool = False) -> Desk:
        """The same desk on a connection of its own, for another thread (the record's credentials
        travel with it: a server's location is shown without its password)."""
        return Desk(self.store.reopen(readonly=readonly), self.policy, self.clock, self.actor)

    def close(self) -> None:
        self.store.close()

    @property
    def readonly(self) -> bool:
        return self.store.readonly

    def now(self) -> datetime:
        return self.clock.now()

    # --- reads ----------------------------------------------------------------------------------

    def get(self, number: int) -> Incident:
        incident = self.store.incident(number)
        if incident is None:
            raise NotFound(f"no incident {format_id(number)}")
        return incident

    def incidents(self, *, include_closed: bool = False) -> list[Incident]:
        return self.store.incidents(include_closed=include_closed)

    def timeline(self, number: int) -> list[Event]:
        return self.store.events(number)

    def deadlines(self, incident: Incident, now: datetime | None = None) -> Deadlines:
        return compute(incident, self.policy, now or self.now())

    def data_version(self) -> int:
        return self.store.data_version()

    def find_by_fingerprint(self, fingerprint: str, *, open_only: bool = True) -> Incident | None:
        found = self.store.incidents_with_fingerprint(fingerprint, include_closed=not open_only)
        if open_only:
            found = [i for i in found if i.is_open]
        return found[-1] if found else None

    # --- the one write path ---------------------------------------------------------------------

    def act(
        self,
        number: int,
        kind: str,
        decide: Callable[[Incident, datetime], Decision],
        *,
        actor: str | None = None,
    ) -> Incident:
        """Run one action as one transaction.

        `decide(incident, now)` sees the incident as it is under the write lock and returns
        (changes to the incident, details for the timeline event), or None to write nothing; it raises
        ActionRefused/Conflict to refuse. Extensions (alerts, runbooks, reviews) use this too.
        """
        with self.store.write():
            incident = self.store.incident(number)
            if incident is None:
                raise NotFound(f"no incident {format_id(number)}")
            now = self.now()
            decision = decide(incident, now)
            if decision is None:
                return incident
            changes, details = decision
            self._land(number, incident.version, kind, changes, details, now, actor)
            return self.get(number)

    def _land(
        self,
        number: int,
        version: int,
        kind: str,
        changes: Change,
        details: dict[str, Any],
        now: datetime,
        actor: str | None,
    ) -> None:
        """Inside `write()`: the action's changes with the next version, and its timeline event."""
        self.store.update_incident(number, {**changes, "version": version + 1})
        details = {**details, **self._clock_behind(number, now)}
        self.store.append_event(number, iso(now), actor or self.actor, kind, details)

    def _clock_behind(self, number: int, now: datetime) -> dict[str, int]:
        """The event keeps the time this desk's clock gives (the truth it has), and says so when the
        timeline already holds a later one: a wall clock set back, or another machine's running ahead."""
        last = self.store.last_event_at(number)
        if last is None or (last - now).total_seconds() <= CLOCK_BEHIND_TOLERANCE:
            return {}
        return {"clock_behind_seconds": round((last - now).total_seconds())}

    def append(self, number: int, kind: str, details: dict[str, Any], changes: Change | None = None) -> Incident:
        return self.act(number, kind, lambda inc, now: (changes or {}, details))

    # --- actions --------------------------------------------------------------------------------

    def declare(
        self,
        title: str,
        *,
        severity: Severity | str | None = None,
        services: tuple[str, ...] | list[str] = (),
        impact: str = "",
        channel: str = "",
        assignee: str = "",
        symptom: str = "",
        started_at: datetime | None = None,
        source: str = "manual",
        fingerprint: str = "",
        labels: dict[str, str] | None = None,
        tenants: Tenants | str | None = None,
        actor: str | None = None,
        details: dict[str, Any] | None = None,
        alert_state: str = "",
    ) -> Incident:
        title = clean_text(title, multiline=False, limit=500)
        if not title:
            raise ActionRefused("an incident needs a title")
        sev = Severity.parse(severity) if isinstance(severity, str) else severity
        svc = tuple(dict.fromkeys(s for s in (clean_text(x, multiline=False, limit=200) for x in services) if s))
        affected = _tenants(tenants)
        now = self.now()
        started = started_at or now
        # `when` (its time-phrase patterns) is read for the first declare, not before the board's first frame.
        from .when import SKEW

        if started > now + SKEW:
            raise ActionRefused("the start time is in the future")
        started = min(started, now)  # a moment ahead is two machines' clocks disagreeing
        with self.store.write():
            number = self.store.next_number()
            incident = Incident(
                number=number,
                title=title,
                status=Status.TRIGGERED,
                started_at=started,
                declared_at=now,
                severity=sev,
                severity_at=now if sev else None,
                services=svc,
                impact=clean_text(impact),
                channel=clean_text(channel, multiline=False, limit=500),
                assignee=clean_text(assignee, multiline=False, limit=200),
                symptom=clean_text(symptom, multiline=False, limit=200),
                source=source,
                fingerprint=fingerprint,
                labels=dict(labels or {}),
                tenants=affected.names,
                tenant_count=affected.count,
                alert_state=alert_state,
            )
            self.store.insert_incident(incident)
            payload = {
                "title": incident.title,
                "severity": sev.value if sev else None,
                "services": list(svc),
                "impact": incident.impact,
                "channel": incident.channel,
                "assignee": incident.assignee,
                "symptom": incident.symptom,
                "started_at": iso(started),
                "source": source,
                **({"tenants": str(affected)} if affected.affected else {}),
                **({"fingerprint": fingerprint} if fingerprint else {}),
                **(details or {}),
            }
            self.store.append_event(number, iso(now), actor or self.actor, "declared", payload)
            return self.get(number)

    def acknowledge(self, number: int, *, actor: str | None = None, details: dict[str, Any] | None = None) -> Incident:
        """`details` say how, when it was not a key press (another desk's Alertmanager silence)."""
        who = actor or self.actor

        def decide(inc: Incident, now: datetime) -> Decision:
            if inc.acknowledged_at is not None:
                raise Conflict(
                    f"{inc.id} was already acknowledged by {inc.acknowledged_by or 'someone'} "
                    f"{_ago(inc.acknowledged_at, now)}"
                )
            check_move(inc, Status.ACKNOWLEDGED, self.policy)
            late = now - (inc.started_at + self.policy.acknowledge)
            info = {"late_by_seconds": int(late.total_seconds())} if late.total_seconds() > 0 else {}
            return {"status": Status.ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_by": who}, {
                **info,
                **(details or {}),
            }

        return self.act(number, "acknowledged", decide, actor=who)

    def set_severity(
        self, number: int, severity: Severity | str, *, expected: Severity | str | None = "any"
    ) -> Incident:
        sev = Severity.parse(severity) if isinstance(severity, str) else severity

        def decide(inc: Incident, now: datetime) -> Decision:
            if expected != "any" and inc.severity != expected:
                raise self._changed(inc, now, "severity", ("severity_set", "declared"))
            if inc.severity == sev:
                raise Conflict(f"{inc.id} is already {sev.value}")
            if not inc.is_open:
                raise ActionRefused(f"{inc.id} is {inc.status.value}; its severity is part of the record now")
            changes: Change = {"severity": sev}
            if inc.severity_at is None:
                changes["severity_at"] = now
            return changes, {"from": inc.severity.value if inc.severity else None, "to": sev.value}

        return self.act(number, "severity_set", decide)

    def move(self, number: int, target: Status | str, *, expected: Status | None = None) -> Incident:
        """Move to a status; `expected` is the status the user saw, to catch another desk's move."""
        target = Status.parse(target) if isinstance(target, str) else target
        if target is Status.ACKNOWLEDGED:
            return self.acknowledge(number)

        def decide(inc: Incident, now: datetime) -> Decision:
            if expected is not None and inc.status != expected:
                raise self._changed(inc, now, f"status (now {inc.status.value})", ("status_changed", "acknowledged"))
            check_move(inc, target, self.policy)
            changes: Change = {"status": target}
            if target is Status.MITIGATED:
                changes["mitigated_at"] = now
            elif target is Status.RESOLVED:
                changes["resolved_at"] = now
                changes["next_update_at"] = None
                if inc.mitigated_at is None:
                    changes["mitigated_at"] = now
            elif target is Status.CLOSED:
                changes["closed_at"] = now
            elif target is Status.INVESTIGATING and inc.status in (Status.MITIGATED, Status.RESOLVED):
                # Recurrence or reopening: the fire is burning again, so its clocks run again.
                changes.update(mitigated_at=None, resolved_at=None)
            return changes, {"from": inc.status.value, "to": target.value}

        return self.act(number, "status_changed", decide)

    def advance(self, number: int, *, expected: Status | None = None) -> Incident:
        inc = self.get(number)
        target = next_status(inc.status)
        if target is None:
            raise ActionRefused(f"{inc.id} is closed; there is no next step")
        return self.move(number, target, expected=expected if expected is not None else inc.status)

    def edit(self, number: int, field: str, value: Any, *, expected: Any = "any") -> Incident:
        """Change one editable field; `expected` is the value the user saw (compare-and-set)."""
        if field == "started_at":
            return self.correct_start(number, value, expected=expected)
        if field not in EDITABLE_FIELDS:
            editable = ", ".join((*EDITABLE_FIELDS, *EDITABLE_TIMES))
            raise ActionRefused(f"{field!r} cannot be edited (editable: {editable})")
        if field == "tenants":
            return self.set_tenants(number, value, expected=expected)
        if field == "services":
            items = value.split(",") if isinstance(value, str) else value
            new: Any = tuple(dict.fromkeys(s for s in (clean_text(x, multiline=False, limit=200) for x in items) if s))
        elif field in ("title", "assignee", "channel", "symptom", "eta"):
            new = clean_text(value, multiline=False, limit=500)
        else:
            new = clean_text(value)
        if field == "title" and not new:
            raise ActionRefused("an incident needs a title")
        kind = "assigned" if field == "assignee" else "field_edited"

        def decide(inc: Incident, now: datetime) -> Decision:
            old = getattr(inc, field)
            if expected != "any" and _norm(old) != _norm(expected):
                raise self._changed(inc, now, field.replace("_", " "), ("field_edited", "assigned"))
            if _norm(old) == _norm(new):
                return None
            return {field: new}, {"field": field, "from": _plain(old), "to": _plain(new)}

        return self.act(number, kind, decide)

    def set_tenants(self, number: int, value: Tenants | str, *, expected: Any = "any") -> Incident:
        """Tenants affected, as names and/or a count; `expected` is what the user saw (its text form)."""
        new = _tenants(value)

        def decide(inc: Incident, now: datetime) -> Decision:
            old = Tenants(inc.tenants, inc.tenant_count if inc.tenant_count > len(inc.tenants) else 0)
            # What the user saw: the text the board showed, or the names a command read.
            saw_names = isinstance(expected, (tuple, list))
            if expected != "any" and (
                tuple(expected) != inc.tenants if saw_names else str(_tenants(expected)) != str(old)
            ):
                raise self._changed(inc, now, "tenants affected", ("field_edited",))
            if old == new:
                return None
            changes = {"tenants": new.names, "tenant_count": new.count}
            return changes, {"field": "tenants", "from": str(old), "to": str(new), "count": new.affected}

        return self.act(number, "field_edited", decide)

    def set_role(self, number: int, role: str, person: str, *, expected: Any = "any") -> Incident:
        """Give role `role` (an id or name from the policy's [[role]] list) to `person`; "" clears it."""
        try:
            info = self.policy.role(role)
        except ValueError as exc:
            raise ActionRefused(str(exc)) from None
        who = clean_text(person, multiline=False, limit=200)

        def decide(inc: Incident, now: datetime) -> Decision:
            old = inc.roles.get(info.id, "")
            if expected != "any" and old != (expected or ""):
                raise self._changed(inc, now, info.name.lower(), ("role_assigned",))
            if old == who:
                return None
            roles = {k: v for k, v in inc.roles.items() if k != info.id}
            if who:
                roles[info.id] = who
            return {"roles": roles}, {"role": info.id, "name": info.name, "from": old, "to": who}

        return self.act(number, "role_assigned", decide)

    def correct_start(self, number: int, started_at: datetime | str, *, expected: Any = "any") -> Incident:
        """Correct when the incident began (typed as the declare form takes it: -20m, 03:12, ISO).

        A `start_corrected` event keeps both instants on the timeline; every clock counts from the
        start, so each is recomputed from the new one (a breach already recorded stays history)."""

        from .when import check_start, parse_past  # (deferred: see `declare`)

        def decide(inc: Incident, now: datetime) -> Decision:
            if expected != "any" and _norm(inc.started_at) != _norm(expected):
                raise self._changed(inc, now, "start time", ("start_corrected",))
            try:
                new = parse_past(started_at, now) if isinstance(started_at, str) else started_at
                if new is None:
                    raise ValueError("say when it started, e.g. -20m, 20m ago or 03:12")
                new = check_start(new, now)
            except ValueError as exc:
                raise ActionRefused(str(exc)) from None
            if new > inc.declared_at:
                raise ActionRefused(
                    f"{inc.id} was declared at {format_local(inc.declared_at, with_date=True)}: it began by then"
                )
            if abs(new - inc.started_at) < timedelta(seconds=1):  # the same start, as the screen shows it
                return None
            return {"started_at": new}, {"from": iso(inc.started_at), "to": iso(new)}

        return self.act(number, "start_corrected", decide)

    def assign(self, number: int, assignee: str, *, expected: Any = "any") -> Incident:
        return self.edit(number, "assignee", assignee, expected=expected)

    def note(self, number: int, text: str) -> Incident:
        body = clean_text(text)
        if not body:
            raise ActionRefused("a note needs some text")
        return self.append(number, "note", {"text": body})

    def record_message(
        self,
        number: int,
        *,
        template: str,
        text: str,
        via: str,
        next_update_at: datetime | None = None,
    ) -> Incident:
        """A status message went out (copied to chat, or posted to a webhook).

        An Initial Alert meets the stakeholder deadline; an Update restarts the next-update clock at
        the time it promised. The same text sent the same way again within `RESEND_WINDOW` (a second
        copy to be sure, the composer closed and opened again) is the same message: nothing is written,
        and the incident comes back unchanged (same version).
        """
        body = clean_text(text, limit=50_000)

        def decide(inc: Incident, now: datetime) -> Decision:
            last = self.store.last_event(number, ("message_sent",))
            if (
                last is not None
                and now - last.at <= RESEND_WINDOW
                and (
                    last.details.get("template"),
                    last.details.get("via"),
                    last.details.get("text"),
                    last.details.get("next_update_at"),
                )
                == (template, via, body, iso(next_update_at) if next_update_at is not None else None)
            ):
                return None
            changes: Change = {}
            if template == "initial" and inc.notified_at is None:
                changes["notified_at"] = now
            if template in ("initial", "update"):
                changes["last_update_at"] = now
                changes["next_update_at"] = next_update_at
            details = {"template": template, "via": via, "text": body}
            if next_update_at is not None:
                details["next_update_at"] = iso(next_update_at)
            return changes, details

        return self.act(number, "message_sent", decide)

    def record_saved(self, number: int, *, template: str, text: str, path: str) -> Incident:
        """A message written to a file (ctrl+l): on the timeline, but not sent — no clock moves."""
        body = clean_text(text, limit=50_000)
        where = clean_text(path, multiline=False, limit=1000)
        return self.append(number, "message_saved", {"template": template, "path": where, "text": body})

    def record_breach(self, number: int, key: str, label: str, due_at: datetime) -> bool:
        """Write a deadline breach to the timeline once, however many desks notice it.

        `act` without reading the incident: a desk opened after a night away writes thousands of
        these, and decoding each incident twice was half their cost."""
        due = iso(due_at)
        with self.store.write():
            version = self.store.incident_version(number)
            if version is None:
                raise NotFound(f"no incident {format_id(number)}")
            now = self.now()
            if due_at > now:  # never a breach of a deadline still to come (a desk whose clock ran ahead)
                return False
            if self.store.breach_recorded(number, key, due):
                return False
            details = {"deadline": key, "label": label, "due_at": due}
            self._land(number, version, "deadline_breached", {}, details, now, "desk")
            return True

    def check_step(
        self,
        number: int,
        *,
        runbook: str,
        version: str,
        step: int,
        text: str,
        checked: bool,
        section: str = "",
        ordinal: int | None = None,
    ) -> Incident:
        """Tick or untick a runbook step; the event says which runbook version the step came from, and
        the step as the screen numbers it (`section`, `ordinal`: "Investigation, step 5")."""

        def decide(inc: Incident, now: datetime) -> Decision:
            if self.store.step_checked(number, runbook, step) == checked:
                return None
            self.store.set_step(number, runbook, step, checked, iso(now), self.actor)
            details: dict[str, Any] = {
                "runbook": runbook,
                "version": version,
                "step": step,
                "text": text,
                "checked": checked,
            }
            if section and ordinal is not None:
                details.update(section=section, ordinal=ordinal)
            return {}, details

        return self.act(number, "runbook_step", decide)

    def checked_steps(self, number: int, runbook: str) -> set[int]:
        return self.store.checked_steps(number, runbook)

    def context_counts(self, number: int) -> tuple[int, int]:
        """(timeline events, action items) of one incident: what the process checklist reads."""
        return self.store.counts_for(number)

    def checked_counts(self, incidents: list[int] | None = None) -> dict[tuple[int, str], int]:
        """(incident, runbook) → number of ticked steps, for the board's progress column: of the open
        incidents, or of `incidents` whatever their status."""
        return self.store.checked_counts(incidents)

    # --- helpers --------------------------------------------------------------------------------

    def _changed(self, inc: Incident, now: datetime, what: str, kinds: tuple[str, ...]) -> Conflict:
        last = self.store.last_event(inc.number, kinds)
        if last is None:
            return Conflict(f"{inc.id}'s {what} changed meanwhile; look again before retrying")
        return Conflict(
            f"{inc.id}'s {what} was changed by {last.actor} {_ago(last.at, now)}; look again before retrying"
        )


def _tenants(value: Tenants | str | None) -> Tenants:
    if value is None:
        return Tenants()
    if isinstance(value, Tenants):
        value = editable_text(value.names, value.count)
    try:
        parsed = parse_tenants(clean_text(value, multiline=False, limit=20_000))
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    names = tuple(n for n in (clean_text(x, multiline=False, limit=200) for x in parsed.names) if n)
    return Tenants(names, parsed.count)


def _ago(then: datetime, now: datetime) -> str:
    seconds = (now - then).total_seconds()
    return "just now" if seconds < 1 else f"{format_duration(seconds)} ago"


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return "" if value is None else value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
