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
import functools
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..clock import from_iso, iso
from ..config import DeskOptions
from ..desk import ActionRefused, Decision, Desk, NotFound
from ..foreground import breather
from ..model import SEVERITY_RANK, Incident, parse_id
from ..runbooks import RunbookLibrary
from .client import AlertmanagerClient, AlertSourceError, ServerStatus
from .mapping import RunbookMatcher, group_key, runbook_matcher
from .matchers import all_match, from_api, parse_matchers
from .parse import Alert, Silence
from .poller import Poller, SourceHealth, State
from .reconcile import (
    DESK_SILENCE,
    INTAKE_ACTOR,
    Change,
    Declare,
    Step,
    Tracked,
    change_for,
    load_tracked,
    plan,
    refused,
)

BATCH = 100  # steps per transaction in a storm: one fsync each, and the board sees progress between them
BREATH_SECONDS = 0.02  # between a storm's batches


@dataclass(frozen=True, slots=True)
class PullResult:
    alerts: int = 0  # how many alerts Alertmanager holds (the merged view of every one that answered)
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = ()  # steps that failed while the poll as a whole worked
    skipped: bool = False  # another desk on the same file was importing
    watchdog: bool | None = None  # whether the always-firing Watchdog alert was there (None: not looked for)
    sources: tuple[SourceHealth, ...] = ()  # each Alertmanager's health after this poll

    @property
    def wrote(self) -> bool:
        return bool(self.changes)


def intake_for(
    desk: Desk, options: DeskOptions, *, library: RunbookLibrary | None = None, own_connection: bool = False
) -> Intake:
    """The intake the options ask for (`--alertmanager`, repeated for an HA cluster, or
    `[alertmanager] url` in config.toml, one URL or a list).

    `own_connection`: the intake writes through a second connection to the desk's file, because it
    imports in worker threads while the board keeps reading through the first (one SQLite
    connection must never be in two threads' transactions at once). `aclose` closes it.

    Raises AlertSourceError when there is no URL, or the auth it names is not in the environment.
    """
    urls = options.alertmanager_urls
    if not urls:
        raise AlertSourceError(
            "no Alertmanager URL: pass --alertmanager URL or set url in [alertmanager] of config.toml"
        )
    policy = desk.policy.alerts
    limit = int(policy.max_reply_mib * 1024 * 1024)
    section = options.section("alertmanager")
    clients = [
        AlertmanagerClient.from_settings(url, section, timeout=policy.timeout_seconds, max_bytes=limit) for url in urls
    ]
    library = library if library is not None else RunbookLibrary(options.runbook_dirs)
    matcher = runbook_matcher(library, policy)
    if not own_connection:
        return Intake(desk, clients, matcher=matcher)
    mine = desk.reopen()
    made = Intake(mine, clients, matcher=matcher)
    made.owns_desk = True
    return made


@dataclass(slots=True)
class Source:
    """One Alertmanager of the cluster, and what the desk remembers of it between polls."""

    client: AlertmanagerClient
    health: SourceHealth
    seen: frozenset[str] = frozenset()  # fingerprints in its last complete, trusted answer
    started_at: datetime | None = None  # its own start, from /api/v2/status
    retry_at: datetime | None = None


@dataclass(slots=True)
class _Reply:
    source: Source
    alerts: tuple[Alert, ...] = ()
    silences: dict[str, Silence] | None = None
    truncated: str = ""
    error: str = ""


class Intake:
    """The Alertmanagers feeding one desk (one, or an HA cluster), and what is remembered between polls.

    Every Alertmanager that is up is read each poll and the answers merged by fingerprint, so one
    going down loses nothing and duplicates nothing: its peers hold the same alerts (Prometheus sends
    to all of them) and silences (the cluster gossips them).
    """

    def __init__(
        self,
        desk: Desk,
        clients: AlertmanagerClient | Sequence[AlertmanagerClient],
        *,
        matcher: RunbookMatcher | None = None,
    ) -> None:
        self.desk = desk
        self.matcher = matcher
        self.silences: dict[str, Silence] = {}  # every answering Alertmanager's, merged, by id
        self.sources: list[Source] = []
        self.client = clients
        policy = desk.policy.alerts
        self.filter = parse_matchers(policy.filter)
        self.on_batch: Callable[[Sequence[Change]], None] | None = None  # between a storm's batches
        self._receiver = re.compile(f"(?:{policy.receiver})") if policy.receiver else None
        self.owns_desk = False  # opened for this intake: closed with it

    # An intake of one is still spoken to as `intake.client` (the CLI, the tests of one server).
    @property
    def client(self) -> AlertmanagerClient:
        return self.sources[0].client

    @client.setter
    def client(self, clients: AlertmanagerClient | Sequence[AlertmanagerClient]) -> None:
        listed = [clients] if isinstance(clients, AlertmanagerClient) else list(clients)
        if not listed:
            raise AlertSourceError("no Alertmanager URL given")
        self.sources = [Source(c, SourceHealth(c.url)) for c in listed]

    @property
    def health(self) -> tuple[SourceHealth, ...]:
        """Each Alertmanager's health, in the order configured: what the status line (and a
        "monitoring is blind" banner) reads."""
        return tuple(s.health for s in self.sources)

    async def aclose(self) -> None:
        for source in self.sources:
            await source.client.aclose()
        if self.owns_desk:
            self.desk.close()

    async def pull(self) -> PullResult:
        """Raises AlertSourceError when no Alertmanager can be read; nothing is written then."""
        if self.desk.readonly:
            raise AlertSourceError("the desk is open read-only, so alerts cannot be imported")
        with intake_lock(self.desk) as mine:
            if not mine:
                return PullResult(skipped=True, sources=self.health)
            now = self.desk.now()
            due = [s for s in self.sources if s.retry_at is None or now >= s.retry_at] or self.sources
            replies = await asyncio.gather(*(self._read(s) for s in due))
            answered = [r for r in replies if not r.error]
            self._judge(replies, now)
            if not answered:
                if len(replies) == 1:
                    raise AlertSourceError(replies[0].error)
                raise AlertSourceError("; ".join(f"{_host(r.source)}: {r.error}" for r in replies))
            problems = [
                f"{_host(r.source)}: {r.truncated}" if len(self.sources) > 1 else r.truncated
                for r in answered
                if r.truncated
            ]
            alerts = self._selected(merge_alerts([r.alerts for r in answered]))
            # The Watchdog proves the pipeline works; it is never an incident.
            watchdog = self.desk.policy.alerts.watchdog
            seen = any(a.name == watchdog for a in alerts) if watchdog else None
            if seen:
                alerts = [a for a in alerts if a.name != watchdog]
            fetched = [r.silences for r in answered if r.silences is not None]
            if fetched:
                self.silences = merge_silences(fetched)
            elif any(a.silenced_by for a in alerts):
                problems.append("could not read Alertmanager's silences")
            trusted = [r for r in answered if not r.truncated and not r.source.health.in_grace(now)]
            for r in trusted:
                r.source.seen = frozenset(a.fingerprint for a in r.alerts)
            sure = [r.source for r in trusted]
            unsure = frozenset().union(*(s.seen for s in self.sources if not any(s is t for t in sure)))
            lost_judged = any(r.silences is not None for r in trusted)
            tracked = await asyncio.to_thread(load_tracked, self.desk)
            changes = await self._reconcile(alerts, tracked, unsure, bool(trusted), problems)
            if changes:  # what the silences are decided on must include what was just written
                tracked = await asyncio.to_thread(load_tracked, self.desk)
            ended = await asyncio.to_thread(self._track_silences, alerts, tracked, lost_judged, problems)
            if ended:
                tracked = await asyncio.to_thread(load_tracked, self.desk)
            changes += ended
            changes += await self.sync_silences(alerts, tracked, problems)
        return PullResult(len(alerts), tuple(changes), tuple(problems), watchdog=seen, sources=self.health)

    # --- reading the cluster -----------------------------------------------------------------------

    async def _read(self, source: Source) -> _Reply:
        """One Alertmanager's alerts, silences and start time, read at once."""
        reply = _Reply(source)
        client = source.client
        wire = tuple(str(m) for m in self.filter)
        receiver = self.desk.policy.alerts.receiver
        results = await asyncio.gather(
            client.read_alerts(matchers=wire, receiver=receiver),
            client.silences(),
            client.status(),
            return_exceptions=True,
        )
        got, silences, status = results
        if isinstance(got, BaseException):
            if not isinstance(got, AlertSourceError):
                raise got
            reply.error = str(got)
            return reply
        reply.alerts, reply.truncated = got.alerts, got.truncated
        if isinstance(silences, dict):
            reply.silences = silences
        if isinstance(status, ServerStatus):
            source.started_at, previous = status.started_at, source.started_at
            if previous is not None and status.started_at is not None and status.started_at != previous:
                # It restarted: it lost its alerts and waits for Prometheus to send them again.
                grace = timedelta(seconds=self.desk.policy.alerts.grace_seconds)
                source.health = replace(
                    source.health, grace_until=self.desk.now() + grace, restarts=source.health.restarts + 1
                )
        return reply

    def _judge(self, replies: Sequence[_Reply], now: datetime) -> None:
        every = self.desk.policy.alerts.poll_seconds
        for r in replies:
            s = r.source
            if r.error:
                failures = s.health.failures + 1
                s.health = replace(s.health, state=State.DOWN, error=r.error, failures=failures)
                s.retry_at = now + timedelta(seconds=Poller(every).backoff(failures))
            else:
                grace = s.health.grace_until if s.health.in_grace(now) else None
                s.health = replace(
                    s.health,
                    state=State.OK,
                    error="",
                    failures=0,
                    last_ok_at=now,
                    alerts=len(r.alerts),
                    warning=r.truncated,
                    grace_until=grace,
                )
                s.retry_at = None

    def _selected(self, alerts: Sequence[Alert]) -> list[Alert]:
        """The alerts this desk takes (`[alerts] filter` and `receiver`), checked here too: an
        Alertmanager behind a proxy may ignore the query."""
        if not self.filter and self._receiver is None:
            return list(alerts)
        out = []
        for a in alerts:
            if not all_match(self.filter, a.labels):
                continue
            if self._receiver is not None and not any(self._receiver.fullmatch(r) for r in a.receivers):
                continue
            out.append(a)
        return out

    async def _reconcile(
        self,
        alerts: Sequence[Alert],
        tracked: dict[str, Tracked],
        unsure: frozenset[str],
        complete: bool,
        problems: list[str],
    ) -> list[Change]:
        """Plan and apply off the event loop, in batches of one transaction each: a storm of thousands
        of alerts imports while the screen keeps answering keys, and the gravest arrive first."""
        steps = await asyncio.to_thread(
            lambda: plan(
                self.desk,
                alerts,
                # The desk's own silences are not "someone else's", even those it never heard the id of.
                silences={sid: s for sid, s in self.silences.items() if not self._ours(s)},
                matcher=self.matcher,
                tracked=tracked,
                unsure=unsure,
                complete=complete,
            )
        )
        if len(steps) <= BATCH:
            return await asyncio.to_thread(self._apply, steps, problems) if steps else []
        steps.sort(key=_gravest_first)
        changes: list[Change] = []
        with _responsive_threads():
            for at in range(0, len(steps), BATCH):
                done = await asyncio.to_thread(self._apply, steps[at : at + BATCH], problems)
                changes.extend(done)
                if self.on_batch is not None and done and at + BATCH < len(steps):
                    self.on_batch(done)
                # A breath between batches: the event loop paints and answers keys with the GIL free.
                await asyncio.sleep(BREATH_SECONDS)
        return changes

    def _apply(self, steps: Sequence[Step], problems: list[str]) -> list[Change]:
        changes: list[Change] = []
        # Work in slices with the GIL let go between them, and none while the screen answers a key:
        # a thread that keeps the GIL makes the event loop wait for it at every frame.
        breathe = breather() if len(steps) > 1 else None
        with self.desk.store.batch():
            for step in steps:
                try:
                    changes.extend(step.apply(self.desk))
                except ActionRefused as exc:
                    problems.append(refused(step, exc))
                if breathe is not None:
                    breathe()
        return changes

    # --- silences -------------------------------------------------------------------------------

    def _track_silences(
        self, alerts: Sequence[Alert], tracked: dict[str, Tracked], judged: bool, problems: list[str]
    ) -> list[Change]:
        """Record every silence over each incident's alerts (who, until when), and notice when the
        desk's own silence lapsed, was expired by someone else, or vanished with an Alertmanager."""
        desk = self.desk
        policy = desk.policy.alerts
        by_key: dict[str, list[Alert]] = {}
        for alert in alerts:
            by_key.setdefault(group_key(alert, policy.group_by)[0], []).append(alert)
        known = {}
        for row in desk.store.alert_silences():
            known[(row["incident"], row["silence_id"])] = row
        changes: list[Change] = []
        with desk.store.batch():
            for key, t in tracked.items():
                related: dict[str, Silence] = {}
                for alert in by_key.get(key, ()):
                    for sid in alert.silenced_by:
                        if sid in self.silences:
                            related[sid] = self.silences[sid]
                if t.labels:
                    for s in self.silences.values():
                        if s.live and s.id not in related and all_match(from_api(s.matchers), t.labels):
                            related[s.id] = s
                if t.silence_id and t.silence_id in self.silences:
                    related[t.silence_id] = self.silences[t.silence_id]
                for sid, s in related.items():
                    record = silence_record(s, own=sid == t.silence_id)
                    old = known.get((t.number, sid))
                    if old is None or any(old[k] != v for k, v in record.items()):
                        desk.store.put_alert_silence(t.number, record)
                if t.silence_id:
                    changes.extend(self._own_silence_fate(t, known.get((t.number, t.silence_id)), judged))
        return changes

    def _own_silence_fate(self, t: Tracked, record: dict[str, Any] | None, judged: bool) -> list[Change]:
        s = self.silences.get(t.silence_id)
        if s is None and not judged:
            return []  # no trusted Alertmanager told us its silences: nothing to conclude
        if s is not None and s.live:
            return []
        details: dict[str, Any] = {"silence_id": t.silence_id}
        if s is None:
            details["reason"] = "lost"
        else:
            recorded = from_iso(record["ends_at"]) if record and record.get("ends_at") else None
            ended = s.ends_at
            details["ends_at"] = iso(ended)
            if recorded is not None and ended is not None and ended < recorded - timedelta(minutes=1):
                details["reason"] = "expired_elsewhere"
            else:
                details["reason"] = "lapsed"
        sid = t.silence_id

        def decide(current: Incident, at: datetime) -> Decision:
            if current.silence_id != sid:
                return None
            return {"silence_id": ""}, details

        self.desk.act(t.number, "silence_ended", decide, actor=INTAKE_ACTOR)
        return [change_for(t.number, "silence_ended", details)]

    async def sync_silences(
        self, alerts: Sequence[Alert], tracked: dict[str, Tracked], problems: list[str]
    ) -> list[Change]:
        changes: list[Change] = []
        ours = {s.id for s in self.silences.values() if self._ours(s)}
        for number in silences_due(self.desk, alerts, tracked, ours=ours):
            incident = self.desk.get(number)
            try:
                if (change := await self.silence(incident)) is not None:
                    changes.append(change)
            except (AlertSourceError, ActionRefused) as exc:
                problems.append(f"{incident.id}: could not silence its alert: {exc}")
        for number in renewals_due(self.desk, alerts, tracked, self.silences):
            incident = self.desk.get(number)
            try:
                if (change := await self.renew(incident)) is not None:
                    changes.append(change)
            except (AlertSourceError, ActionRefused) as exc:
                problems.append(f"{incident.id}: could not renew its silence: {exc}")
        for incident in self.desk.store.resolved_alert_incidents_with_silence():
            try:
                if (change := await self.unsilence(incident)) is not None:
                    changes.append(change)
            except (AlertSourceError, ActionRefused) as exc:
                problems.append(f"{incident.id}: could not expire its silence: {exc}")
        changes += await self._expire_strays(problems)
        return changes

    @functools.cached_property
    def desk_id(self) -> str:
        return self.desk.store.desk_id()

    def _comment(self, incident: Incident, who: str) -> str:
        return f"{incident.id} acknowledged by {who} on the on-call desk {self.desk_id}: {incident.title}"

    def _ours(self, s: Silence) -> str:
        """The incident id a live silence of this desk's was made for, or ""."""
        found = DESK_SILENCE.match(s.comment)
        mark = f" on the on-call desk {self.desk_id}:"
        return found.group(1) if found and s.live and mark in s.comment else ""

    async def silence(self, incident: Incident) -> Change | None:
        """Silence the incident's alert for `silence_minutes`, on behalf of whoever acknowledged it.

        A silence this desk made for the incident already (its request timed out after Alertmanager
        had created it) is taken up rather than made twice: it is found by its comment."""
        desk = self.desk
        who = incident.acknowledged_by or desk.actor
        now = desk.now()
        ends = now + timedelta(minutes=desk.policy.alerts.silence_minutes)
        comment = self._comment(incident, who)
        adopted = next(
            (s for s in self.silences.values() if self._ours(s) == incident.id and _same(s, incident.labels)), None
        )
        if adopted is not None:
            sid, ends = adopted.id, adopted.ends_at or ends
        else:
            sid = await self.client_for_writes().create_silence(
                incident.labels, starts_at=now, ends_at=ends, created_by=who, comment=comment
            )
        details: dict[str, Any] = {
            "silence_id": sid,
            "ends_at": iso(ends),
            "matchers": dict(incident.labels),
            "comment": comment,
        }
        if adopted is not None:
            details["adopted"] = True

        def decide(current: Incident, at: datetime) -> Decision:
            if current.silence_id:  # another desk silenced it in the meantime
                return None
            return {"silence_id": sid}, details

        try:
            recorded = desk.act(incident.number, "silence_created", decide, actor=who).silence_id == sid
        except Exception:
            await self._forget(sid)  # an unrecorded silence would hide the alert from everyone
            raise
        if not recorded:
            await self._forget(sid)
            return None
        self._remember(incident.number, sid, who, comment, now, ends)
        return change_for(incident.number, "silence_created", details)

    async def renew(self, incident: Incident) -> Change | None:
        """Push the desk's silence out by another `silence_minutes`: still acknowledged, still firing."""
        desk = self.desk
        old = self.silences[incident.silence_id]
        now = desk.now()
        ends = now + timedelta(minutes=desk.policy.alerts.silence_minutes)
        sid = await self.client_for_writes().create_silence(
            incident.labels,
            starts_at=old.starts_at or now,
            ends_at=ends,
            created_by=old.created_by or desk.actor,
            comment=old.comment,
            silence_id=old.id,
        )
        details = {"silence_id": sid, "previous_id": old.id, "ends_at": iso(ends)}

        def decide(current: Incident, at: datetime) -> Decision:
            if current.silence_id != old.id:
                return None
            return {"silence_id": sid}, details

        if desk.act(incident.number, "silence_renewed", decide, actor=INTAKE_ACTOR).silence_id != sid:
            return None
        self._remember(incident.number, sid, old.created_by, old.comment, old.starts_at or now, ends)
        return change_for(incident.number, "silence_renewed", details)

    def _remember(self, number: int, sid: str, who: str, comment: str, starts: datetime, ends: datetime) -> None:
        silence = Silence(sid, who, comment, "active", starts, ends)
        self.silences[sid] = silence
        with self.desk.store.write():
            self.desk.store.put_alert_silence(number, silence_record(silence, own=True))

    async def unsilence(self, incident: Incident) -> Change | None:
        sid = incident.silence_id
        existed = await self._expire_everywhere(sid)
        if sid in self.silences:
            self.silences[sid] = replace(self.silences[sid], state="expired")
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

    async def _expire_strays(self, problems: list[str]) -> list[Change]:
        """A silence of this desk's that no incident records (its creation timed out after
        Alertmanager had made it) and whose incident is over: expire it, say so on the timeline."""
        changes: list[Change] = []
        for s in list(self.silences.values()):
            ident = self._ours(s)
            if not ident:
                continue
            try:
                incident = self.desk.get(parse_id(ident))
            except (NotFound, ValueError):
                continue
            if incident.is_open or incident.silence_id == s.id:
                continue
            try:
                await self._expire_everywhere(s.id)
            except AlertSourceError as exc:
                problems.append(f"{incident.id}: could not expire a silence left by a timed-out request: {exc}")
                continue
            self.silences[s.id] = replace(s, state="expired")
            details = {"silence_id": s.id, "stray": True, "reason": f"incident {incident.status.value}"}
            self.desk.act(incident.number, "silence_expired", _noting(details), actor=INTAKE_ACTOR)
            changes.append(change_for(incident.number, "silence_expired", details))
        return changes

    def client_for_writes(self) -> AlertmanagerClient:
        """The first Alertmanager that answered last: the cluster gossips the silence to the rest."""
        for s in self.sources:
            if s.health.state is State.OK:
                return s.client
        return self.client

    async def _expire_everywhere(self, sid: str) -> bool:
        """Expire on the first Alertmanager that answers (gossip does the rest); False if none knew it."""
        last: AlertSourceError | None = None
        order = sorted(self.sources, key=lambda s: s.health.state is not State.OK)
        for source in order:
            try:
                return await source.client.expire_silence(sid)
            except AlertSourceError as exc:
                last = exc
        assert last is not None
        raise last

    async def _forget(self, sid: str) -> None:
        with contextlib.suppress(AlertSourceError):
            await self._expire_everywhere(sid)


@contextlib.contextmanager
def _responsive_threads() -> Iterator[None]:
    """While a storm imports in a worker thread, hand the GIL back to the event loop within half a
    millisecond rather than Python's default 5 ms: a key's handling and repaint take the GIL many
    times over, and each wait would add up to a frame or more."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, 0.0005))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def merge_alerts(answers: Sequence[Sequence[Alert]]) -> list[Alert]:
    """One view of a cluster's alerts, by fingerprint: silenced or inhibited if any peer says so
    (silences gossip; a peer that has not applied one yet is only late), the latest update's fields,
    and the earliest start: the alert began when its first peer saw it, whichever answered last."""
    if len(answers) == 1:
        return list(answers[0])
    merged: dict[str, Alert] = {}
    for answer in answers:
        for alert in answer:
            seen = merged.get(alert.fingerprint)
            if seen is None:
                merged[alert.fingerprint] = alert
                continue
            newer = alert if (alert.updated_at or _EPOCH) > (seen.updated_at or _EPOCH) else seen
            silenced = tuple(dict.fromkeys((*seen.silenced_by, *alert.silenced_by)))
            inhibited = tuple(dict.fromkeys((*seen.inhibited_by, *alert.inhibited_by)))
            starts = [t for t in (seen.starts_at, alert.starts_at) if t is not None]
            merged[alert.fingerprint] = replace(
                newer,
                starts_at=min(starts, default=None),
                silenced_by=silenced,
                inhibited_by=inhibited,
                state="suppressed" if silenced or inhibited else newer.state,
                receivers=tuple(dict.fromkeys((*seen.receivers, *alert.receivers))),
            )
    return list(merged.values())


def merge_silences(answers: Sequence[Mapping[str, Silence]]) -> dict[str, Silence]:
    """Silences by id across the cluster; where peers differ, the later update wins."""
    merged: dict[str, Silence] = {}
    for answer in answers:
        for sid, s in answer.items():
            seen = merged.get(sid)
            if seen is None or (s.updated_at or _EPOCH) > (seen.updated_at or _EPOCH):
                merged[sid] = s
    return merged


def silence_record(s: Silence, *, own: bool) -> dict[str, Any]:
    return {
        "silence_id": s.id,
        "created_by": s.created_by,
        "comment": s.comment,
        "starts_at": iso(s.starts_at),
        "ends_at": iso(s.ends_at),
        "state": s.state,
        "own": int(own),
    }


def _noting(details: dict[str, Any]) -> Callable[[Incident, datetime], Decision]:
    """An event that changes nothing on the incident, only says something on its timeline."""
    return lambda inc, now: ({}, details)


def _same(s: Silence, labels: Mapping[str, str]) -> bool:
    wanted = {(k, v) for k, v in labels.items()}
    got = {(m.get("name"), m.get("value")) for m in s.matchers if not m.get("isRegex") and m.get("isEqual", True)}
    return got == wanted and len(s.matchers) == len(wanted)


def _gravest_first(step: Step) -> int:
    if isinstance(step, Declare):
        sev = step.draft.severity
        return SEVERITY_RANK[sev] if sev is not None else 4
    return 5


def _host(source: Source) -> str:
    return urlsplit(source.client.url).netloc or source.client.url


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def renewals_due(
    desk: Desk, alerts: Sequence[Alert], tracked: dict[str, Tracked], silences: Mapping[str, Silence]
) -> list[int]:
    """Acknowledged incidents whose own silence ends soon while their alert still fires."""
    policy = desk.policy.alerts
    if not policy.renew_silences:
        return []
    now = desk.now()
    window = timedelta(seconds=max(policy.silence_minutes * 60 / 4, 3 * policy.poll_seconds))
    firing = {group_key(a, policy.group_by)[0] for a in alerts}
    due = []
    for key, t in tracked.items():
        s = silences.get(t.silence_id) if t.silence_id else None
        if s is None or not s.live or not t.acknowledged or key not in firing or s.ends_at is None:
            continue
        if s.ends_at - now <= window:
            due.append(t.number)
    return due


def silences_due(
    desk: Desk, alerts: Sequence[Alert], tracked: dict[str, Tracked], *, ours: set[str] | frozenset[str] = frozenset()
) -> list[int]:
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
            # someone else's silence already covers it (one of this desk's own, left by a request
            # that timed out, does not: `silence` takes it up)
            or all(set(a.silenced_by) - ours for a in members)
        ):
            continue
        due.append(t.number)
    return due


def intake_lock(desk: Desk) -> contextlib.AbstractContextManager[bool]:
    """True while this desk may import; False when another desk on the same record is at it."""
    return desk.store.intake_lock()
