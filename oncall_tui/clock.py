"""Time, injected.

Every part of the desk that needs "now" takes a `Clock`, so tests freeze time instead of sleeping,
and deadlines are always recomputed from the wall clock (never decremented), which keeps them right
across a laptop's sleep and wake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

from .errors import InputError

UTC = UTC


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to: for tests, snapshots and benchmarks."""

    def __init__(self, at: datetime | str) -> None:
        self._now = parse_instant(at) if isinstance(at, str) else to_utc(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime | str) -> None:
        self._now = parse_instant(at) if isinstance(at, str) else to_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the desk needs to know the time zone")
    return moment.astimezone(UTC)


def parse_instant(text: str, *, default_tz: timezone | None = None) -> datetime:
    """Parse an ISO-8601 instant ('2026-11-27T03:12:00Z', '+01:00' offsets, fractional seconds).

    A time without an offset is taken in `default_tz`, or the machine's local zone, because that is
    what a person typing "03:12" at a desk means.
    """
    raw = text.strip()
    if not raw:
        raise InputError("empty time")
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"not an ISO-8601 time: {text!r} (try 2026-11-27T03:12:00Z or 2026-11-27 03:12+01:00)"
        ) from None
    if moment.tzinfo is None:
        if default_tz is not None:
            moment = moment.replace(tzinfo=default_tz)
        else:
            moment = _local_unambiguous(moment, text)
    return moment.astimezone(UTC)


def _local_unambiguous(naive: datetime, text: str) -> datetime:
    """`naive` in the machine's zone, refusing the wall-clock times a DST change skips or repeats:
    guessing there would put an incident's start an hour off, and every clock with it."""
    a, b = (naive.replace(fold=f).astimezone() for f in (0, 1))
    if a.utcoffset() != b.utcoffset():
        if a.replace(tzinfo=None) != naive:
            raise InputError(
                f"{text!r} does not exist in your time zone (the clocks skipped it); add an offset, e.g. {a:%z}"
            )
        raise InputError(
            f"{text!r} happens twice in your time zone (the clocks went back); add an offset: {a:%z} or {b:%z}"
        )
    return a


def iso(moment: datetime | None) -> str | None:
    """The storage form of an instant: UTC, second precision kept to microseconds, 'Z' suffix."""
    if moment is None:
        return None
    return to_utc(moment).isoformat().replace("+00:00", "Z")


def from_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    if text[-1:] == "Z":  # what `iso` writes: the fast path for every time read from the file
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # parse_instant says what is wrong with it
    return parse_instant(text)


def format_duration(seconds: float) -> str:
    """Compact, fixed-ish width durations for countdowns: 45s, 4m05s, 1h02m, 2d03h."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def format_local(moment: datetime | None, tz=None, *, with_date: bool = False) -> str:
    """An instant in the user's zone (or `tz`), for the screen."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M %Z" if with_date else "%H:%M:%S")
