"""Time, injected.

Every part of the desk that needs "now" takes a `Clock`, so tests freeze time instead of sleeping,
and deadlines are always recomputed from the wall clock (never decremented), which keeps them right
across a laptop's sleep and wake.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol, overload

from .errors import InputError

UTC = UTC


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def steady(self) -> float:
        """Seconds on a clock nobody can set (it counts a suspend, never steps): what the wall clock
        is compared with to tell time passing from the wall clock being set (`ClockWatch`)."""
        ...


# Linux's boot-time clock counts a suspend, so a laptop waking is time passing, not a jump; elsewhere
# the monotonic clock (which may not count one: a wake then reads as the wall clock jumping ahead).
_STEADY = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def steady(self) -> float:
        return time.clock_gettime(_STEADY)


class FrozenClock:
    """A clock that moves only when told to: for tests, snapshots and benchmarks.

    `advance` and `set` are time passing (forwards; a move back is a clock being set, since time
    never runs backwards); `step` is the wall clock being set while no time passes."""

    def __init__(self, at: datetime | str) -> None:
        self._now = parse_instant(at) if isinstance(at, str) else to_utc(at)
        self._steady = 0.0

    def now(self) -> datetime:
        return self._now

    def steady(self) -> float:
        return self._steady

    def set(self, at: datetime | str) -> None:
        self._move(parse_instant(at) if isinstance(at, str) else to_utc(at))

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._move(self._now + (delta if delta is not None else timedelta(**kwargs)))
        return self._now

    def step(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Set the wall clock by `delta` (an admin's `date -s`, a bad NTP answer): no time passes."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def _move(self, to: datetime) -> None:
        self._steady += max(0.0, (to - self._now).total_seconds())
        self._now = to


@dataclass(frozen=True, slots=True)
class Jump:
    """The wall clock moved `seconds` more than time passed (negative: it went back)."""

    seconds: float
    at: datetime  # the wall clock's reading just after the jump

    @property
    def back(self) -> bool:
        return self.seconds < 0

    def describe(self) -> str:
        amount = format_duration(self.seconds)
        if self.back:
            return (
                f"The system clock was set back {amount}. Anything written while it was ahead is dated "
                "later than now; the clocks now count from the corrected time."
            )
        return (
            f"The system clock jumped {amount} ahead of the time that passed. Until the new time has held "
            f"for {format_duration(ClockWatch.SETTLE)}, deadlines it makes overdue are shown but not "
            "written to the timeline."
        )


class ClockWatch:
    """Tells the wall clock running from the wall clock being set, by comparing each look at it with
    the steady clock: between two looks both must move alike, within `TOLERANCE`.

    A jump ahead may be a mistake about to be undone (a clock stepped a day forward and back): until
    the new time has held for `SETTLE` seconds the watch is `holding`, and missed deadlines are not
    recorded (a breach dated tomorrow would otherwise stay on the timeline, and the incident at the
    top of its escalation). A jump back ends any hold: the desk then runs on the corrected time.
    """

    TOLERANCE = 5.0
    SETTLE = 300.0

    def __init__(self) -> None:
        self._last: tuple[datetime, float] | None = None
        self._hold_until: float | None = None  # steady time at which a jump ahead is believed

    def observe(self, wall: datetime, steady: float) -> Jump | None:
        last, self._last = self._last, (wall, steady)
        if self._hold_until is not None and steady >= self._hold_until:
            self._hold_until = None
        if last is None:
            return None
        drift = (wall - last[0]).total_seconds() - (steady - last[1])
        if abs(drift) <= self.TOLERANCE:
            return None
        self._hold_until = steady + self.SETTLE if drift > 0 else None
        return Jump(drift, wall)

    @property
    def holding(self) -> bool:
        return self._hold_until is not None


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the desk needs to know the time zone")
    return moment.astimezone(UTC)


def parse_instant(text: str, *, default_tz: tzinfo | None = None) -> datetime:
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
    try:
        if moment.tzinfo is None:
            if default_tz is not None:
                moment = moment.replace(tzinfo=default_tz)
            else:
                moment = _local_unambiguous(moment, text)
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00, year 9999 at -14:00: no such instant in UTC
        raise InputError(f"{text.strip()!r} is out of range: no such instant in UTC") from None


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


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
@overload
def iso(moment: datetime | None) -> str | None: ...
def iso(moment: datetime | None) -> str | None:
    """The storage form of an instant: UTC, second precision kept to microseconds, 'Z' suffix."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # every instant the desk reads or makes: no conversion
        return moment.isoformat()[:-6] + "Z"
    return to_utc(moment).isoformat().replace("+00:00", "Z")


@overload
def from_iso(text: str) -> datetime: ...
@overload
def from_iso(text: None) -> None: ...
@overload
def from_iso(text: str | None) -> datetime | None: ...
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


def format_local(moment: datetime | None, tz: tzinfo | None = None, *, with_date: bool = False) -> str:
    """An instant in the user's zone (or `tz`), for the screen."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M %Z" if with_date else "%H:%M:%S")
