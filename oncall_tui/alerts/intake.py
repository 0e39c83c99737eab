"""One whole poll: fetch the alerts, bring the desk in line, keep silences in step with the desk.

Silences follow the desk's state rather than its key presses: an acknowledged alert-born incident
without a silence gets one (whether it was acknowledged on the board, with `oncall-tui ack`, or on
another desk sharing the file, and even if Alertmanager was down at that moment), and a resolved one
with a silence has it expired. Each poll is the retry; nothing is lost while the server is away.

Two desks on one database file may both poll: a lock file beside the database lets one import at a
time, and the alerts are fetched after taking it, so the second desk sees the first's incidents and
never declares a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import iso
from ..config import DeskOptions
from ..desk import ActionRefused, Decision, Desk
from ..model import Incident
from ..runbooks import RunbookLibrary
from .client import AlertmanagerClient, AlertSourceError
from .mapping import RunbookMatcher, group_key, runbook_matcher
from .parse import Alert, Silence
from .reconcile import Change, Tracked, change_for, load_tracked, plan, refused

try:
    import fcntl

    HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows: one desk per file is all it gets
    HAVE_FLOCK = False

YIELD_EVERY = 20  # steps between handing the event loop back to the screen during a big import
_RESOLVED_WITH_SILENCE = "source = 'alert' AND COALESCE(silence_id, '') != '' AND status IN ('resolved', 'closed')"


@dataclass(frozen=True, slots=True)
class PullResult:
    alerts: int = 0  # how many alerts Alertmanager holds
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = ()  # steps that failed while the poll as a whole worked
    skipped: bool = False  # another desk on the same file was importing

    @property
    def wrote(self) -> bool:
        return bool(self.changes)


def intake_for(desk: Desk, options: DeskOptions, *, library: RunbookLibrary | None = None) -> Intake:
    """The intake the options ask for (`--alertmanager`, or `[alertmanager]` in config.toml).

    Raises AlertSourceError when there is no URL, or the auth it names is not in the environment.
    """
    if not options.alertmanager_url:
        raise AlertSourceError(
            "no Alertmanager URL: pass --alertmanager URL or set url in [alertmanager] of config.toml"
        )
    client = AlertmanagerClient.from_settings(
        options.alertmanager_url, options.section("alertmanager"), timeout=desk.policy.alerts.timeout_seconds
    )
    library = library if library is not None else RunbookLibrary(options.runbook_dirs)
    return Intake(desk, client, matcher=runbook_matcher(library, desk.policy.alerts))


class Intake:
    """One Alertmanager feeding one desk, and what is remembered between polls."""

    def __init__(self, desk: Desk, client: AlertmanagerClient, *, matcher: RunbookMatcher | None = None) -> None:
        self.desk = desk
        self.client = client
        self.matcher = matcher
        self.silences: dict[str, Silence] = {}  # Alertmanager's, by id: who silenced what

    async def pull(self) -> PullResult:
        """Raises AlertSourceError when Alertmanager cannot be read; nothing is written then."""
        if self.desk.readonly:
            raise AlertSourceError("the desk is open read-only, so alerts cannot be imported")
        with intake_lock(self.desk) as mine:
            if not mine:
                return PullResult(skipped=True)
            alerts = await self.client.alerts()
            problems: list[str] = []
            try:
                await self._learn_silences(alerts)
            except AlertSourceError as exc:
                problems.append(f"could not read Alertmanager's silences: {exc}")
            tracked = load_tracked(self.desk)
            changes = await self._reconcile(alerts, tracked, problems)
            if changes:  # what the silences are decided on must include what was just written
                tracked = load_tracked(self.desk)
            changes += await self.sync_silences(alerts, tracked, problems)
        return PullResult(len(alerts), tuple(changes), tuple(problems))

    async def _learn_silences(self, alerts: Sequence[Alert]) -> None:
        """Fetch the silences only when an alert names one not seen yet: most polls need none."""
        wanted = {sid for a in alerts for sid in a.silenced_by}
        if wanted - self.silences.keys():
            self.silences = await self.client.silences()

    async def _reconcile(
        self, alerts: Sequence[Alert], tracked: dict[str, Tracked], problems: list[str]
    ) -> list[Change]:
        changes: list[Change] = []
        steps = plan(self.desk, alerts, silences=self.silences, matcher=self.matcher, tracked=tracked)
        for done, step in enumerate(steps, 1):
            try:
                changes.extend(step.apply(self.desk))
            except ActionRefused as exc:
                problems.append(refused(step, exc))
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return changes

    # --- silences -------------------------------------------------------------------------------

    async def sync_silences(
        self, alerts: Sequence[Alert], tracked: dict[str, Tracked], problems: list[str]
    ) -> list[Change]:
        changes: list[Change] = []
        for number in silences_due(self.desk, alerts, tracked):
            incident = self.desk.get(number)
            try:
                if (change := await self.silence(incident)) is not None:
                    changes.append(change)
            except (AlertSourceError, ActionRefused) as exc:
                problems.append(f"{incident.id}: could not silence its alert: {exc}")
        for incident in self.desk.store.incidents(include_closed=True, where=_RESOLVED_WITH_SILENCE):
            try:
                if (change := await self.unsilence(incident)) is not None:
                    changes.append(change)
            except (AlertSourceError, ActionRefused) as exc:
                problems.append(f"{incident.id}: could not expire its silence: {exc}")
        return changes

    async def silence(self, incident: Incident) -> Change | None:
        """Silence the incident's alert for `silence_minutes`, on behalf of whoever acknowledged it."""
        desk = self.desk
        who = incident.acknowledged_by or desk.actor
        now = desk.now()
        ends = now + timedelta(minutes=desk.policy.alerts.silence_minutes)
        comment = f"{incident.id} acknowledged by {who} on the on-call desk: {incident.title}"
        sid = await self.client.create_silence(
            incident.labels, starts_at=now, ends_at=ends, created_by=who, comment=comment
        )
        details = {"silence_id": sid, "ends_at": iso(ends), "matchers": dict(incident.labels), "comment": comment}

        def decide(current: Incident, at: datetime) -> Decision:
            if current.silence_id:  # another desk silenced it in the meantime
                return None
            return {"silence_id": sid}, details

        try:
            recorded = desk.act(incident.number, "silence_created", decide, actor=who).silence_id == sid
        except Exception:
            await _forget(self.client, sid)  # an unrecorded silence would hide the alert from everyone
            raise
        if not recorded:
            await _forget(self.client, sid)
            return None
        return change_for(incident.number, "silence_created", details)

    async def unsilence(self, incident: Incident) -> Change | None:
        sid = incident.silence_id
        existed = await self.client.expire_silence(sid)
        written: dict[str, Any] = {}

        def decide(current: Incident, at: datetime) -> Decision:
            if current.silence_id != sid:  # another desk expired it already
                return None
            written.update(silence_id=sid, reason=f"incident {current.status.value}")
            if not existed:
                written["already_gone"] = True
            return {"silence_id": ""}, written

        self.desk.act(incident.number, "silence_expired", decide)
        return change_for(incident.number, "silence_expired", written) if written else None


def silences_due(desk: Desk, alerts: Sequence[Alert], tracked: dict[str, Tracked]) -> list[int]:
    """Acknowledged alert-born incidents whose firing alert no silence covers yet.

    An incident silenced once and since unsilenced (resolved, then reopened) is left alone: the
    engineer has seen it, and a desk that silences again on its own would hide a recurrence.
    """
    policy = desk.policy.alerts
    if not policy.silence_on_ack:
        return []
    firing: dict[str, list[Alert]] = {}
    for alert in alerts:
        firing.setdefault(group_key(alert, policy.group_by)[0], []).append(alert)
    due = []
    for key, t in tracked.items():
        members = firing.get(key)
        if (
            not t.acknowledged
            or t.silence_id
            or t.silenced_before
            or not members
            or not t.has_labels
            or all(a.silenced_by for a in members)  # someone else's silence already covers it
        ):
            continue
        due.append(t.number)
    return due


async def _forget(client: AlertmanagerClient, sid: str) -> None:
    with contextlib.suppress(AlertSourceError):
        await client.expire_silence(sid)


@contextlib.contextmanager
def intake_lock(desk: Desk) -> Iterator[bool]:
    """True while this desk may import; False when another desk on the same file is at it."""
    path = desk.store.info.path
    try:
        fd = os.open(path.with_name(path.name + ".intake.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        fd = None  # a directory we cannot write: the desk is read-only there anyway
    try:
        if fd is not None and HAVE_FLOCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        if fd is not None:
            os.close(fd)
