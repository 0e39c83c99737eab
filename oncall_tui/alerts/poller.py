"""When to poll Alertmanager next, and how healthy it looks: a state machine with no I/O.

Every method takes the current time, so tests drive it with a frozen clock and the UI with its one
tick. A failed poll backs off (twice the interval, then doubling, up to a minute) so a dead server is
not hammered, but a recovering one is seen within a minute; a success returns to the interval.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..clock import format_duration

MAX_BACKOFF_SECONDS = 60.0


class State(str, enum.Enum):
    STARTING = "starting"  # no poll has finished yet
    OK = "ok"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Health:
    state: State = State.STARTING
    last_ok_at: datetime | None = None
    last_attempt_at: datetime | None = None
    error: str = ""  # why the last poll failed
    warning: str = ""  # trouble in a poll that otherwise worked (a silence Alertmanager refused)
    failures: int = 0  # consecutive
    next_at: datetime | None = None
    in_flight: bool = False
    alerts: int = 0  # in the last good poll

    def describe(self, now: datetime, *, compact: bool = False) -> str:
        """The status line: `AM ok 2s`, `AM down: connection refused (retry in 20s)`.

        `compact` leaves the error out (a narrow terminal needs the top line for the incidents;
        the error was notified when it began and stays in the indicator's tooltip).
        """
        if self.state is State.STARTING:
            return "AM connecting…"
        if self.state is State.OK:
            age = format_duration(max(0.0, (now - self.last_ok_at).total_seconds())) if self.last_ok_at else "?"
            return f"AM ok {age}"
        reason = "" if compact else f": {self.error}"
        if self.in_flight:
            return f"AM down{reason} (retrying…)"
        wait = max(0.0, (self.next_at - now).total_seconds()) if self.next_at else 0.0
        return f"AM down{reason} (retry in {format_duration(wait)})"


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One Alertmanager of a cluster, as the last poll found it.

    The intake keeps one per URL (`Intake.health`): the status line summarises them, and anything
    that must know whether the desk can see its alerts at all (a "monitoring is blind" banner)
    reads `up` and `in_grace` here rather than parsing the status line.
    """

    url: str
    state: State = State.STARTING
    error: str = ""
    warning: str = ""  # it answered, but only in part (its reply was over the size limit)
    failures: int = 0
    last_ok_at: datetime | None = None
    alerts: int = 0
    grace_until: datetime | None = None  # restarted: its missing alerts are not "stopped" before this
    restarts: int = 0

    @property
    def up(self) -> bool:
        return self.state is State.OK

    def in_grace(self, now: datetime) -> bool:
        return self.grace_until is not None and now < self.grace_until


def describe_cluster(sources: tuple[SourceHealth, ...], now: datetime) -> str:
    """The short, always whole part of the status line for several Alertmanagers, or "" for one:
    `AM 2/2`, `AM 1/2 (am-2 down)`, `AM restarted, settling 40s`."""
    if not sources:
        return ""
    up = [s for s in sources if s.up]
    text = f"{len(up)}/{len(sources)}" if len(sources) > 1 else ""
    settling = [s for s in up if s.in_grace(now)]
    if settling:
        left = max((s.grace_until - now).total_seconds() for s in settling if s.grace_until is not None)
        text = (text + " " if text else "") + f"restarted, settling {format_duration(max(0.0, left))}"
    return text


class Poller:
    """The schedule and health of one Alertmanager source."""

    def __init__(self, every: float, *, max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        if every <= 0:
            raise ValueError("the poll interval must be positive")
        self.every = every
        self.max_backoff = max(max_backoff, every)
        self.health = Health()
        self._soon = False

    def due(self, now: datetime) -> bool:
        """Poll now? Never while a poll is still running: polls do not overlap."""
        h = self.health
        if h.in_flight:
            return False
        return self._soon or h.next_at is None or now >= h.next_at

    def seconds_until_due(self, now: datetime) -> float:
        h = self.health
        if self._soon or h.next_at is None:
            return 0.0
        return max(0.0, (h.next_at - now).total_seconds())

    def poll_soon(self) -> None:
        """Something on the desk wants a poll now (an acknowledgement to turn into a silence)."""
        self._soon = True

    def started(self, now: datetime) -> None:
        self._soon = False
        self.health = replace(self.health, in_flight=True, last_attempt_at=now)

    def succeeded(self, now: datetime, *, alerts: int, warning: str = "") -> Health:
        self.health = Health(
            state=State.OK,
            last_ok_at=now,
            last_attempt_at=now,
            warning=warning,
            next_at=now + timedelta(seconds=self.every),
            alerts=alerts,
        )
        return self.health

    def failed(self, now: datetime, error: str) -> Health:
        failures = self.health.failures + 1
        self.health = replace(
            self.health,
            state=State.DOWN,
            error=error,
            failures=failures,
            in_flight=False,
            next_at=now + timedelta(seconds=self.backoff(failures)),
        )
        return self.health

    def skipped(self, now: datetime) -> Health:
        """The poll did not run (another desk on the same file was importing): try at the interval."""
        self.health = replace(self.health, in_flight=False, next_at=now + timedelta(seconds=self.every))
        return self.health

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failed polls in a row: 2×, 4×, 8× … the interval, capped."""
        if failures <= 0:
            return self.every
        return min(self.every * 2.0 ** min(failures, 16), self.max_backoff)
