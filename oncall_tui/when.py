"""Times as people type them, read one way by every form of the board and every command.

Two directions, one grammar:
- when something began (an incident's start): `parse_past` reads '-20m', '20m ago', '1h30m', '03:12'
  (the last such time of day), or an ISO-8601 instant;
- when something is promised (the next update, a review meeting): `parse_future` reads 'in 30m',
  '45 min', '1h 30m', '03:45' (the next such time of day), or an ISO-8601 instant;
- when an override begins or ends (who holds the pager): `parse_at` reads 'now', '+4h', '4h30m',
  '03:00' (the next such time of day) or an ISO-8601 instant, counting from a base (the end of a
  cover counts from its start, so 'from 22:00 until +8h' is the night).

Both refuse the absurd with a message that says what they accept: a start more than `MAX_PAST` ago
or in the future (beyond `SKEW`, what two machines' clocks may disagree by), a promise more than
`MAX_FUTURE` ahead, and any date the calendar cannot hold (year 1 with a +14:00 offset).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

from .clock import format_duration, parse_instant
from .errors import InputError

SKEW = timedelta(minutes=2)
MAX_PAST = timedelta(days=366)
MAX_FUTURE = timedelta(days=366)

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# '-20m', '20m ago', '1h30m', '- 1h 30m ago': a start time, counted back from now.
_AGO = re.compile(r"^-?\s*((?:\d+\s*[dhms]\s*)+)(?:ago)?$", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*([dhms])", re.IGNORECASE)
# 'in 30m', '30 min', '1h 30m', '1 hour 15 minutes': a promise, counted on from now.
_AHEAD = re.compile(
    r"^(?:in\s+)?(?=\d)(?:(?P<h>\d+)\s*(?:h|hr|hrs|hour|hours)(?![a-z])\s*)?"
    r"(?:(?P<m>\d+)\s*(?:m|min|mins|minute|minutes))?$",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"^(?:at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})$", re.IGNORECASE)

# '+4h', '4h', 'in 1h30m', '+2d': an override's span, counted on from its base.
_SPAN = re.compile(r"^(?:\+|in\s+)?\s*((?:\d+\s*[dhm]\s*)+)$", re.IGNORECASE)

PAST_FORMS = "-20m, 20m ago, 03:12 or an ISO time like 2026-11-27T03:12Z"
FUTURE_FORMS = "in 30m, 45 min, 03:45 or an ISO time"
AT_FORMS = "now, +4h, 03:00 or an ISO time like 2027-03-28T10:00"


def parse_past(text: str, now: datetime, tz: tzinfo | None = None) -> datetime | None:
    """When something began; None for '' (now). Raises ValueError with a message for the user."""
    raw = " ".join(text.strip().split())
    if not raw:
        return None
    if match := _AGO.match(raw):
        return _bounded_past(now - _span(match.group(1), MAX_PAST, raw), now, raw)
    if match := _CLOCK.match(raw):
        local_now = now.astimezone(tz)
        started = datetime.combine(local_now.date(), _time_of_day(match, raw), local_now.tzinfo)
        if started > local_now:
            yesterday = (local_now - timedelta(days=1)).date()
            raise InputError(
                f"{raw} today is in the future; for yesterday give the date, e.g. {yesterday.isoformat()}T{raw}"
            )
        return started.astimezone(now.tzinfo)
    if raw.startswith("+") or raw.lower().startswith("in "):
        raise InputError(f"{raw} is in the future: a start time is in the past, e.g. -20m")
    return _bounded_past(_instant(raw, tz, PAST_FORMS), now, raw)


def parse_future(text: str, now: datetime, tz: tzinfo | None = None) -> datetime:
    """When something is promised: always after `now`. Raises ValueError with a message for the user."""
    raw = " ".join(text.strip().split())
    if not raw:
        raise InputError("empty: say when, e.g. in 30m or 03:45")
    if (match := _AHEAD.match(raw)) and (match["h"] or match["m"]):
        seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60
        if seconds <= 0:
            raise InputError(f"{raw} is not in the future")
        if seconds > MAX_FUTURE.total_seconds():
            raise InputError(f"{raw} is more than {MAX_FUTURE.days} days ahead")
        return now + timedelta(seconds=seconds)
    if match := _CLOCK.match(raw):
        local_now = now.astimezone(tz)
        at = datetime.combine(local_now.date(), _time_of_day(match, raw), local_now.tzinfo)
        if at <= local_now:
            at += timedelta(days=1)
        return at.astimezone(now.tzinfo)
    at = _instant(raw, tz, FUTURE_FORMS)
    if at <= now:
        raise InputError(f"{raw} is in the past")
    if at - now > MAX_FUTURE:
        raise InputError(f"{raw} is more than {MAX_FUTURE.days} days ahead")
    return at


def parse_at(
    text: str, now: datetime, tz: tzinfo | None = None, *, base: datetime | None = None, bare_hours: bool = False
) -> datetime:
    """When an override begins or ends: never before `now` (beyond `SKEW`), at most `MAX_FUTURE`
    ahead. Spans and times of day count from `base` (default `now`); `bare_hours` reads '4' as 4h.
    Raises InputError with a message for the user."""
    raw = " ".join(text.strip().split())
    start = base or now
    if not raw:
        raise InputError(f"empty: say when, e.g. {AT_FORMS}")
    if raw.lower() == "now":
        return now
    if bare_hours and re.fullmatch(r"\d+(?:\.\d+)?", raw):
        hours = float(raw)
        if hours <= 0 or hours * 3600 > MAX_FUTURE.total_seconds():
            raise InputError(f"{raw} hours: give a number of hours between 0 and {MAX_FUTURE.days * 24}")
        at = start + timedelta(hours=hours)
    elif match := _SPAN.match(raw):
        seconds = sum(int(amount) * _UNITS[unit.lower()] for amount, unit in _PART.findall(match.group(1)))
        if not seconds:
            raise InputError(f"{raw} is no time at all: say how long, e.g. +4h")
        if seconds > MAX_FUTURE.total_seconds():
            raise InputError(f"{raw} is more than {MAX_FUTURE.days} days ahead")
        at = start + timedelta(seconds=seconds)
    elif match := _CLOCK.match(raw):
        local = start.astimezone(tz)
        at = datetime.combine(local.date(), _time_of_day(match, raw), local.tzinfo)
        if at <= local:
            at += timedelta(days=1)  # wall-clock arithmetic: in a named zone, 10:00 stays 10:00 across DST
        at = at.astimezone(now.tzinfo)
    elif raw.startswith("-") or raw.lower().endswith("ago"):
        raise InputError(f"{raw} is in the past: an override starts now or later")
    else:
        at = _instant(raw, tz, AT_FORMS)
    if at < now - SKEW:
        raise InputError(f"{raw} is in the past ({format_duration((now - at).total_seconds())} ago)")
    if at - now > MAX_FUTURE:
        raise InputError(f"{raw} is more than {MAX_FUTURE.days} days ahead")
    return max(at, now)


def check_start(started: datetime, now: datetime, what: str = "the start time") -> datetime:
    """`started` if it is a believable start at `now`: not ahead by more than `SKEW` (a moment ahead
    is two clocks disagreeing, and reads as now), not more than `MAX_PAST` ago."""
    if started > now + SKEW:
        raise InputError(f"{what} is in the future ({format_duration((started - now).total_seconds())} from now)")
    if now - started > MAX_PAST:
        raise InputError(f"{what} is more than {MAX_PAST.days} days ago; check the date")
    return min(started, now)


def _bounded_past(started: datetime, now: datetime, raw: str) -> datetime:
    return check_start(started, now, raw)


def _span(text: str, limit: timedelta, raw: str) -> timedelta:
    # Counted as an integer first: '-99999999999d' is a typo to refuse, not an OverflowError.
    seconds = sum(int(amount) * _UNITS[unit.lower()] for amount, unit in _PART.findall(text))
    if seconds > limit.total_seconds():
        raise InputError(f"{raw} is more than {limit.days} days ago; check the date")
    return timedelta(seconds=seconds)


def _time_of_day(match: re.Match[str], raw: str) -> time:
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise InputError(f"{raw} is not a time of day")
    return time(hour, minute)


def _instant(raw: str, tz: tzinfo | None, forms: str) -> datetime:
    try:
        return parse_instant(raw, default_tz=tz)
    except ValueError as exc:
        if "time zone" in str(exc) or "out of range" in str(exc):
            raise  # a real time the calendar or the zone cannot place: say exactly that
        raise InputError(f"cannot read {raw!r} as a time: use {forms}") from None
