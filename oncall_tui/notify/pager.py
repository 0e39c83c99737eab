"""The pager: decide who must be paged, claim each page, send it, and write down what happened.

Exactly once, across every desk, CLI and agent on one database: a page's key (INC-7:L1, INC-7:L0:r2,
handoff:primary:…) is the primary key of its row, and inserting that row — in the same transaction
that appends "paging Ava" to the incident's timeline — is the claim. Whoever inserts it sends it;
everyone else's insert does nothing. The claimer's heartbeat (the `watchers` table) says whether it
is still alive: a page left "sending" by a process that died is taken over by the next one to look,
sent again once, and the timeline says so (it may arrive twice if the first send got out).

Sending happens in a small pool of threads, so a slow channel never holds the desk or the agent's
clock; each send records its own result with its own connection to the file.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..clock import from_iso, iso
from ..deadlines import compute
from ..desk import Desk
from ..errors import InputError
from ..model import Incident, format_id
from ..paging import PageIntent, PageRecord, compose, decide, records_by_incident
from ..policy import Policy
from ..roster import RosterSource, Target, resolve
from ..schedules import Override, Person, Roster
from . import channels

if TYPE_CHECKING:
    from ..store import Record

Sender = Callable[..., channels.ChannelResult]
HOST = socket.gethostname()


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    person: str
    state: str  # delivered | failed | nobody | sending
    summary: str


def override_from_row(row: dict[str, Any]) -> Override:
    return Override(
        id=row["id"],
        schedule=row["schedule"],
        person=row["person"],
        starts_at=from_iso(row["starts_at"]),
        ends_at=from_iso(row["ends_at"]),
        covering=row.get("covering") or "",
        reason=row.get("reason") or "",
        created_by=row.get("created_by") or "",
        created_at=from_iso(row.get("created_at")),
        cancelled_at=from_iso(row.get("cancelled_at")),
        cancelled_by=row.get("cancelled_by") or "",
        kind=row.get("kind") or "",
        swap_of=row.get("swap_of"),
    )


def record_from_row(row: dict[str, Any]) -> PageRecord:
    return PageRecord(
        key=row["key"],
        incident=row["incident"],
        level=row["level"],
        person=row["person"],
        reason=row["reason"],
        round=row["round"],
        state=row["state"],
        claimed_at=from_iso(row["claimed_at"]),
        finished_at=from_iso(row["finished_at"]),
        resends=row["resends"],
        level_name=row.get("level_name") or "",
    )


def live_overrides(store: Record, now: datetime) -> list[Override]:
    return [override_from_row(r) for r in store.override_rows(ending_after=iso(now - timedelta(days=1)))]


class Pager:
    """Paging for one process (a desk, the agent, one CLI command)."""

    def __init__(
        self,
        desk: Desk,
        roster: RosterSource,
        *,
        kind: str = "desk",
        sender: Sender = channels.send,
        workers: int = 4,
    ) -> None:
        self.desk = desk
        self.roster = roster
        self.kind = kind
        self.sender = sender
        self.token = f"{kind}:{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = desk.now()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pager")
        self._futures: set[Future[Outcome]] = set()
        self._lock = threading.Lock()
        self._last_beat: datetime | None = None
        self._handoffs_seen: set[str] = set()
        self.sent: list[Outcome] = []  # finished sends, newest last (the agent logs them)

    @property
    def policy(self) -> Policy:
        return self.desk.policy

    @property
    def can_page(self) -> bool:
        return not self.desk.readonly and self.roster.get().configured

    # --- the tick -----------------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> list[str]:
        """One look: heartbeat, take over orphaned pages, claim and send what is due. Returns the
        keys this process claimed (or took over) in this step."""
        now = now or self.desk.now()
        if self.desk.readonly:
            return []
        roster = self.roster.get()
        self.beat(now)
        if not roster.configured:
            return []
        claimed = self._resume_orphans(now, roster)
        store = self.desk.store
        incidents = self.desk.incidents()
        overrides: list[Override] | None = None
        if incidents:
            rows = store.page_rows(incidents=[i.number for i in incidents])
            by_incident = records_by_incident(record_from_row(r) for r in rows)
            for incident in incidents:
                deadlines = compute(incident, self.policy, now)
                for intent in decide(incident, deadlines, self.policy, by_incident.get(incident.number, []), now):
                    if overrides is None:
                        overrides = live_overrides(store, now)
                    if self._claim(intent, incident, roster, overrides, now):
                        claimed.append(intent.key)
        for intent in self._handoff_intents(roster, now):
            if overrides is None:
                overrides = live_overrides(store, now)
            if self._claim(intent, None, roster, overrides, now):
                claimed.append(intent.key)
        return claimed

    def beat(self, now: datetime, *, force: bool = False) -> None:
        every = timedelta(seconds=self.policy.paging.heartbeat_seconds)
        if not force and self._last_beat is not None and now - self._last_beat < every:
            return
        self._last_beat = now
        store = self.desk.store
        with store.write():
            store.beat(
                {
                    "token": self.token,
                    "kind": self.kind,
                    "host": HOST,
                    "pid": os.getpid(),
                    "actor": self.desk.actor,
                    "pages": int(self.roster.get().configured),
                    "started_at": iso(self.started_at),
                    "seen_at": iso(now),
                }
            )
            store.forget_watchers_before(iso(now - timedelta(days=1)))

    def close(self, *, wait: float = 30.0) -> None:
        """Let sends in flight finish (up to `wait` s), then say this process is no longer watching."""
        self.wait_idle(wait)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if not self.desk.readonly:
            with contextlib.suppress(Exception), self.desk.store.write():
                self.desk.store.forget_watcher(self.token)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # --- by hand ------------------------------------------------------------------------------

    def page_now(self, number: int, *, level: int | None = None, person: str | None = None, note: str = "") -> Outcome:
        """Page a level or a person about an incident now (`E` on the desk, `oncall-tui escalate`)."""
        incident = self.desk.get(number)
        roster = self.roster.get()
        if not roster.configured:
            raise InputError("nobody can be paged: no people.toml in the config directory (see the README's Paging)")
        if person is not None and person not in roster.people:
            raise InputError(f"{person!r} is not in people.toml ({', '.join(sorted(roster.people))})")
        now = self.desk.now()
        if level is None:
            level = compute(incident, self.policy, now).escalation.index if person is None else 0
        if not 0 <= level < len(self.policy.escalation):
            raise InputError(f"there is no level {level + 1}: the matrix has {len(self.policy.escalation)}")
        intent = PageIntent(
            f"{incident.id}:manual:{uuid.uuid4().hex[:10]}",
            number,
            level,
            "manual",
            note=note or f"by {self.desk.actor}",
            person=person or "",
        )
        future = self._claim(intent, incident, roster, live_overrides(self.desk.store, now), now)
        if future is None:  # nobody to send to: the claim recorded why
            row = next(r for r in self.desk.store.page_rows(incidents=[number]) if r["key"] == intent.key)
            return Outcome(intent.key, row["person"], row["state"], str(row["result"].get("why", "")))
        return future.result()

    # --- claiming -----------------------------------------------------------------------------

    def _claim(
        self,
        intent: PageIntent,
        incident: Incident | None,
        roster: Roster,
        overrides: list[Override],
        now: datetime,
    ) -> Future[Outcome] | None:
        """Claim and start sending `intent`; None when another process had it, or nobody can get it."""
        if intent.person:
            target = Target(intent.person)
        else:
            target = resolve(roster, self.policy.escalation[intent.level], now, overrides)
        person = roster.person(target.person) if target.person else None
        why = target.why_nobody
        if person is not None and not person.notify:
            why = f"{person.name} has no notify addresses in people.toml"
        tier = self.policy.escalation[min(intent.level, len(self.policy.escalation) - 1)]
        if incident is not None:
            title, body = compose(incident, compute(incident, self.policy, now), self.policy, intent)
        else:
            title, body = self._handoff_message(intent, now)
        state = "nobody" if why else "sending"
        row = {
            "key": intent.key,
            "incident": incident.number if incident else None,
            "level": intent.level,
            "level_name": tier.level if incident else f"handoff {intent.schedule}",
            "person": target.person or "",
            "reason": intent.reason,
            "round": intent.round,
            "state": state,
            "claimer": self.token,
            "claimed_at": iso(now),
            "finished_at": iso(now) if why else None,
            "message": {"title": title, "body": body},
            "result": {"why": why} if why else {},
        }
        store = self.desk.store
        with store.write():
            if not store.claim_page(row):
                return None
            if incident is not None:
                store.append_event(
                    incident.number,
                    iso(now),
                    self.desk.actor,
                    "page",
                    {
                        "key": intent.key,
                        "level": tier.level,
                        "person": target.person or "",
                        "name": person.name if person else "",
                        "reason": intent.reason,
                        "note": intent.note,
                        "round": intent.round,
                        "channels": [channels.redact(u) for u in (person.notify if person else ())],
                        **({"nobody": why} if why else {}),
                    },
                )
        if why or person is None:
            return None
        return self._dispatch(intent.key, incident.number if incident else None, person, title, body)

    def _dispatch(self, key: str, number: int | None, person: Person, title: str, body: str) -> Future[Outcome]:
        future = self._pool.submit(self._deliver, key, number, person, title, body)
        with self._lock:
            self._futures = {f for f in self._futures if not f.done()} | {future}
        return future

    def _deliver(self, key: str, number: int | None, person: Person, title: str, body: str) -> Outcome:
        """In a pager thread: every channel of `person`, each with retries; then the one true record."""
        paging = self.policy.paging
        pause = float(os.environ.get("ONCALL_TUI_PAGE_PAUSE", "0") or 0)
        if pause:  # a test's window for killing a process between its claim and its send
            time.sleep(pause)
        results = [
            self.sender(url, title, body, timeout=paging.send_timeout_seconds, waits=paging.retry_seconds)
            for url in person.notify
        ]
        delivered = any(r.delivered for r in results)
        state = "delivered" if delivered else "failed"
        summary = "; ".join(r.summary for r in results)
        store = self.desk.store.reopen()
        try:
            at = iso(self.desk.now())
            with store.write():
                mine = store.finish_page(key, self.token, state, {"channels": [r.as_dict() for r in results]}, at)
                if mine and number is not None:
                    store.append_event(
                        number,
                        at,
                        self.desk.actor,
                        "page_result",
                        {
                            "key": key,
                            "person": person.handle,
                            "name": person.name,
                            "delivered": delivered,
                            "channels": [r.as_dict() for r in results],
                        },
                    )
        finally:
            store.close()
        outcome = Outcome(key, person.handle, state, summary)
        with self._lock:
            self.sent.append(outcome)
        return outcome

    # --- orphans ------------------------------------------------------------------------------

    def _resume_orphans(self, now: datetime, roster: Roster) -> list[str]:
        store = self.desk.store
        flying = [r for r in store.pages_in_flight() if r["claimer"] != self.token]
        if not flying:
            return []
        watchers = {w["token"]: w for w in store.watcher_rows()}
        stale = timedelta(seconds=self.policy.paging.watcher_stale_seconds)
        taken: list[str] = []
        for row in flying:
            if not _dead(row["claimer"], watchers, now, stale):
                continue
            person = roster.person(row["person"])
            with store.write():
                if not store.take_over_page(row["key"], row["claimer"], self.token, iso(now)):
                    continue
                if row["incident"] is not None:
                    store.append_event(
                        row["incident"],
                        iso(now),
                        self.desk.actor,
                        "page_resent",
                        {
                            "key": row["key"],
                            "person": row["person"],
                            "previous_sender": row["claimer"].rsplit(":", 1)[0],
                            "note": "the process that claimed this page stopped before recording a result; "
                            "sending it again (it may arrive twice)",
                        },
                    )
            taken.append(row["key"])
            if person is None or not person.notify:
                with store.write():
                    store.finish_page(
                        row["key"], self.token, "nobody", {"why": f"{row['person']} is gone from people.toml"}, iso(now)
                    )
                continue
            message = row["message"]
            self._dispatch(row["key"], row["incident"], person, message.get("title", ""), message.get("body", ""))
        return taken

    # --- handoffs -----------------------------------------------------------------------------

    def _handoff_intents(self, roster: Roster, now: datetime) -> list[PageIntent]:
        ahead = timedelta(minutes=self.policy.paging.heads_up_minutes)
        if ahead <= timedelta(0):
            return []
        intents = []
        overrides: list[Override] | None = None
        for name in roster.schedules:
            if overrides is None:
                overrides = live_overrides(self.desk.store, now)
            shifts = roster.shifts(name, now, now + ahead, overrides)
            for before, after in itertools.pairwise(shifts):
                if after.person is None or after.person == before.person:
                    continue
                key = f"handoff:{name}:{iso(after.starts_at)}:{after.person}"
                if key in self._handoffs_seen:
                    continue
                self._handoffs_seen.add(key)
                intents.append(PageIntent(key, None, 0, "handoff", person=after.person, schedule=name))
        return intents

    def _handoff_message(self, intent: PageIntent, now: datetime) -> tuple[str, str]:
        from ..handoff import brief

        start = intent.key.split(":", 2)[2].rsplit(":", 1)[0]
        title = f"Heads-up: you take {intent.schedule} on call at {start}"
        return title, brief(self.desk, now, schedule=intent.schedule, incoming=intent.person)


def _dead(token: str, watchers: dict[str, dict[str, Any]], now: datetime, stale: timedelta) -> bool:
    """Is the process that holds `token` gone? Same host: ask the kernel; else: its heartbeat."""
    parts = token.split(":")
    if len(parts) >= 4 and parts[-3] == HOST:
        try:
            os.kill(int(parts[-2]), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            pass
    row = watchers.get(token)
    if row is None:
        return True
    seen = from_iso(row["seen_at"])
    return seen is None or now - seen > stale


def unreached(
    desk: Desk, incidents: Sequence[Incident], names: dict[str, str] | None = None
) -> list[tuple[Incident, str]]:
    """Open, unacknowledged incidents with a page that reached nobody: (incident, "could not reach
    Ava; reached Ben"). It stays until someone acknowledges: a person who cannot be paged is a
    problem to fix before the next incident, even once the next tier answered."""
    wanted = [i for i in incidents if i.is_open and i.acknowledged_at is None]
    if not wanted:
        return []
    names = names or {}
    rows = desk.store.page_rows(incidents=[i.number for i in wanted])
    by_incident: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_incident.setdefault(r["incident"], []).append(r)
    out = []
    for incident in wanted:
        pages = by_incident.get(incident.number, [])
        lost = []
        for r in pages:
            if r["state"] == "failed":
                lost.append(f"could not reach {names.get(r['person'], r['person'])}")
            elif r["state"] == "nobody":
                lost.append(f"nobody to page for {r['level_name']} ({r['result'].get('why', '')})")
        if not lost:
            continue
        reached = [names.get(r["person"], r["person"]) for r in pages if r["state"] == "delivered"]
        text = "; ".join(dict.fromkeys(lost))
        if reached:
            text += f"; reached {reached[-1]}"
        out.append((incident, text))
    return out


def describe_key(key: str) -> str:
    return key.replace(":", " ")


__all__ = ["Outcome", "Pager", "format_id", "unreached"]
