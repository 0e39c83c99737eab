"""People and on-call schedules as code, and who holds the pager at any instant.

`people.toml` and `schedules.toml` live in the config directory (so they live in git); what changes
at 3 a.m. — overrides — lives in the desk's database and arrives here as plain `Override` values.
Nothing here does I/O beyond reading the two files, and nothing reads the clock: every question
takes the instant it is about.

    # people.toml
    [people.ava]
    name = "Ava Jones"
    tz = "Europe/Berlin"
    phone = "+49 30 1234567"
    notify = ["mailto://pager.example.com?to=ava@example.com", "ntfys://ntfy.example.com/ava"]

    # schedules.toml
    [schedules.primary]
    tz = "Europe/Berlin"
    [[schedules.primary.layers]]
    name = "24/7"
    rotation = ["ava", "ben", "chen"]
    shift = "1w"                 # 1w, 3d, 1d (calendar days in tz) or 12h (hours of elapsed time)
    start = 2027-01-04           # the first participant's first shift begins that day …
    handoff = "10:00"            # … at this local time; every later handoff too, DST or not
    [[schedules.primary.layers]]
    name = "daytime"
    rotation = ["dee"]
    shift = "1d"
    start = 2027-01-04
    handoff = "09:00"
    restrict = ["mon-fri 09:00-17:00"]   # a layer higher in the list wins while it is on

Shifts counted in days are local calendar days: a handoff at 10:00 Europe/Berlin stays 10:00 on the
wall across the DST switch (so that shift is 23 or 25 hours long), which is what people mean.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import DeskError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^\s*(\d+)\s*(w|d|h)\s*$", re.IGNORECASE)
_RESTRICT = re.compile(
    r"^\s*(?:(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+)?(?P<t1>\d{1,2}:\d{2})\s*-\s*(?P<t2>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)
HANDLE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class RosterError(DeskError):
    """A people or schedule file that cannot be used; the message names the file and the line."""

    title = "On-call schedules"


# --- the values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    handle: str
    name: str
    tz: str = "UTC"
    phone: str = ""
    notify: tuple[str, ...] = ()  # Apprise URLs, tried in order

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class Restriction:
    """On during [start, end) local time on the listed weekdays (0 = Monday); end ≤ start wraps midnight."""

    days: frozenset[int]
    start: time
    end: time

    def windows(self, day: date, zone: tzinfo) -> list[tuple[datetime, datetime]]:
        if day.weekday() not in self.days:
            return []
        begin = _at(day, self.start, zone)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return [(begin, _at(end_day, self.end, zone))]


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    rotation: tuple[str, ...]
    start: date
    handoff: time
    shift_days: int = 0  # calendar days in the schedule's zone …
    shift_hours: int = 0  # … or hours of elapsed time (for 8- or 12-hour shifts)
    restrictions: tuple[Restriction, ...] = ()

    def first_instant(self, zone: tzinfo) -> datetime:
        return _at(self.start, self.handoff, zone)

    def shift_at(self, moment: datetime, zone: tzinfo) -> tuple[int, datetime, datetime] | None:
        """(index into the rotation, shift start, shift end) of the shift holding `moment`."""
        first = self.first_instant(zone)
        if moment < first:
            return None
        if self.shift_hours:
            step = timedelta(hours=self.shift_hours)
            n = int((moment - first) // step)
            return n % len(self.rotation), first + n * step, first + (n + 1) * step
        local = moment.astimezone(zone)
        day = local.date()
        if moment < _at(day, self.handoff, zone):
            day -= timedelta(days=1)
        n = (day - self.start).days // self.shift_days
        begin_day = self.start + timedelta(days=n * self.shift_days)
        end_day = begin_day + timedelta(days=self.shift_days)
        return n % len(self.rotation), _at(begin_day, self.handoff, zone), _at(end_day, self.handoff, zone)

    def restricted_on(self, moment: datetime, zone: tzinfo) -> bool:
        if not self.restrictions:
            return True
        local_day = moment.astimezone(zone).date()
        for r in self.restrictions:
            for day in (local_day - timedelta(days=1), local_day):
                for begin, end in r.windows(day, zone):
                    if begin <= moment < end:
                        return True
        return False

    def holder(self, moment: datetime, zone: tzinfo) -> str | None:
        shift = self.shift_at(moment, zone)
        if shift is None or not self.restricted_on(moment, zone):
            return None
        return self.rotation[shift[0]]

    def boundaries(self, start: datetime, end: datetime, zone: tzinfo) -> set[datetime]:
        """Every instant in [start, end] at which this layer's holder may change."""
        found: set[datetime] = set()
        first = self.first_instant(zone)
        if start <= first <= end:
            found.add(first)
        shift = self.shift_at(max(start, first), zone)
        while shift is not None and shift[2] <= end:
            found.add(shift[2])
            shift = self.shift_at(shift[2], zone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        while day <= last:
            for r in self.restrictions:
                for begin, stop in r.windows(day, zone):
                    found.update(t for t in (begin, stop) if start <= t <= end)
            day += timedelta(days=1)
        return found


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    tz: str
    layers: tuple[Layer, ...]  # in file order; a later layer wins while it is on

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.tz)

    def layer_holder(self, moment: datetime) -> str | None:
        zone = self.zone
        for layer in reversed(self.layers):
            if (who := layer.holder(moment, zone)) is not None:
                return who
        return None


@dataclass(frozen=True, slots=True)
class Override:
    """Someone holds a schedule's pager for a while, whoever the rotation says."""

    id: int
    schedule: str
    person: str
    starts_at: datetime
    ends_at: datetime
    covering: str = ""  # whom they cover, when it was a cover rather than "take the pager"
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str = ""
    kind: str = ""  # "take", "cover" or "swap" ("" on rows made before the desk said)
    swap_of: int | None = None  # a swap's second half names its first

    def covers(self, moment: datetime) -> bool:
        return self.cancelled_at is None and self.starts_at <= moment < self.ends_at


@dataclass(frozen=True, slots=True)
class Shift:
    """One stretch of one person holding a schedule."""

    schedule: str
    person: str | None  # None: a gap nobody covers
    starts_at: datetime
    ends_at: datetime
    override: Override | None = None


@dataclass(frozen=True, slots=True)
class Roster:
    people: dict[str, Person] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.people)

    def person(self, handle: str) -> Person | None:
        return self.people.get(handle)

    def holder(self, schedule: str, moment: datetime, overrides: Sequence[Override] = ()) -> str | None:
        for o in overrides:
            if o.schedule == schedule and o.covers(moment):
                return o.person
        return self.schedules[schedule].layer_holder(moment)

    def shifts(self, schedule: str, start: datetime, end: datetime, overrides: Sequence[Override] = ()) -> list[Shift]:
        """Who holds `schedule` from `start` to `end`, as consecutive stretches (gaps included)."""
        sched = self.schedules[schedule]
        zone = sched.zone
        mine = [o for o in overrides if o.schedule == schedule and o.cancelled_at is None]
        points = {start, end}
        for layer in sched.layers:
            points |= layer.boundaries(start, end, zone)
        for o in mine:
            points |= {t for t in (o.starts_at, o.ends_at) if start <= t <= end}
        ordered = sorted(points)
        out: list[Shift] = []
        for begin, stop in itertools.pairwise(ordered):
            if begin == stop:
                continue
            cover = next((o for o in mine if o.covers(begin)), None)
            who = cover.person if cover else sched.layer_holder(begin)
            if out and out[-1].person == who and out[-1].override == cover:
                last = out[-1]
                out[-1] = Shift(schedule, who, last.starts_at, stop, cover)
            else:
                out.append(Shift(schedule, who, begin, stop, cover))
        return out

    def current(
        self, schedule: str, moment: datetime, overrides: Sequence[Override] = (), *, horizon_days: int = 35
    ) -> tuple[Shift | None, Shift | None]:
        """(the shift holding `moment`, the one after it), looking at most `horizon_days` ahead."""
        found = self.shifts(schedule, moment, moment + timedelta(days=horizon_days), overrides)
        now = found[0] if found else None
        nxt = found[1] if len(found) > 1 else None
        return now, nxt


def _at(day: date, at: time, zone: tzinfo) -> datetime:
    """A local wall-clock time as an instant (in UTC, so instants compare and hash plainly). A time
    the DST switch skips lands an hour later; one it repeats is the first of the two (fold=0)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


# --- reading the files ----------------------------------------------------------------------------


def zone_named(name: str, where: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RosterError(f"{where}: unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None
    return name


def load_roster(config: Path) -> Roster:
    """The roster in `config` (people.toml, schedules.toml); an empty one when neither exists."""
    people_path, schedules_path = config / "people.toml", config / "schedules.toml"
    sources = tuple(str(p) for p in (people_path, schedules_path) if p.is_file())
    people_raw, people_text = _read(people_path)
    sched_raw, sched_text = _read(schedules_path)
    people = _people(people_raw, people_path, people_text)
    schedules = _schedules(sched_raw, schedules_path, sched_text, people)
    return Roster(people, schedules, sources)


def _read(path: Path) -> tuple[dict[str, Any], str]:
    if not path.is_file():
        return {}, ""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{path}: {exc}") from None  # tomllib says "(at line N, column M)"
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None


def line_of(text: str, header: str, key: str | None = None, nth: int = 0) -> int | None:
    """The line of `key` under the `nth` table `header` (or of the header itself), for messages."""
    lines = text.splitlines()
    seen = -1
    for i, line in enumerate(lines):
        stripped = line.strip().replace(" ", "")
        if stripped in (f"[{header}]", f"[[{header}]]"):
            seen += 1
            if seen != nth:
                continue
            if key is None:
                return i + 1
            for j in range(i + 1, len(lines)):
                s = lines[j].strip()
                if s.startswith("["):
                    break
                if re.match(rf"^{re.escape(key)}\s*=", s):
                    return j + 1
            return i + 1
    return None


def _where(path: Path, text: str, header: str, key: str | None = None, nth: int = 0) -> str:
    line = line_of(text, header, key, nth)
    return f"{path}, line {line}" if line else str(path)


def _people(raw: dict[str, Any], path: Path, text: str) -> dict[str, Person]:
    table = raw.get("people", {})
    if not isinstance(table, dict):
        raise RosterError(f"{path}: [people] must be a table of people, one [people.<handle>] each")
    people: dict[str, Person] = {}
    for handle, spec in table.items():
        header = f"people.{handle}"
        if not HANDLE.match(handle):
            raise RosterError(f"{_where(path, text, header)}: {handle!r} is not a handle (lower case, digits, . _ -)")
        if not isinstance(spec, dict):
            raise RosterError(f"{_where(path, text, header)}: people.{handle} must be a table")
        notify = spec.get("notify", [])
        if isinstance(notify, str):
            notify = [notify]
        if not isinstance(notify, list) or not all(isinstance(u, str) for u in notify):
            raise RosterError(f"{_where(path, text, header, 'notify')}: notify must be a list of Apprise URLs")
        tz = zone_named(str(spec.get("tz", "UTC")), _where(path, text, header, "tz"))
        people[handle] = Person(
            handle=handle,
            name=str(spec.get("name") or handle),
            tz=tz,
            phone=str(spec.get("phone", "")),
            notify=tuple(u.strip() for u in notify if u.strip()),
        )
    return people


def _schedules(raw: dict[str, Any], path: Path, text: str, people: dict[str, Person]) -> dict[str, Schedule]:
    table = raw.get("schedules", {})
    if not isinstance(table, dict):
        raise RosterError(f"{path}: [schedules] must be a table, one [schedules.<name>] each")
    out: dict[str, Schedule] = {}
    for name, spec in table.items():
        header = f"schedules.{name}"
        if not isinstance(spec, dict):
            raise RosterError(f"{_where(path, text, header)}: schedules.{name} must be a table")
        tz = zone_named(str(spec.get("tz", "UTC")), _where(path, text, header, "tz"))
        layers_raw = spec.get("layers")
        if layers_raw is None and "rotation" in spec:  # one layer written inline
            layers_raw = [spec]
        if not layers_raw:
            raise RosterError(f"{_where(path, text, header)}: schedule {name!r} has no layers (add a rotation)")
        layers = tuple(
            _layer(layer, f"{header}.layers", i, path, text, people, name) for i, layer in enumerate(layers_raw)
        )
        out[name] = Schedule(name, tz, layers)
    return out


def _layer(
    spec: dict[str, Any], header: str, nth: int, path: Path, text: str, people: dict[str, Person], schedule: str
) -> Layer:
    def where(key: str | None = None) -> str:
        return (
            _where(path, text, header, key, nth)
            if line_of(text, header, key, nth)
            else _where(path, text, header.rsplit(".", 1)[0], key)
        )

    name = str(spec.get("name") or f"layer {nth + 1}")
    rotation = spec.get("rotation", [])
    if isinstance(rotation, str):
        rotation = [rotation]
    if not rotation:
        raise RosterError(f"{where('rotation')}: the rotation of {schedule}/{name} is empty: list who takes turns")
    for handle in rotation:
        if handle not in people:
            known = ", ".join(sorted(people)) or "none yet: add them to people.toml"
            raise RosterError(f"{where('rotation')}: {handle!r} in {schedule}/{name} is not in people.toml ({known})")
    days, hours = _shift(spec.get("shift", "1w"), where("shift"))
    start = spec.get("start")
    if isinstance(start, datetime):
        start = start.date()
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            start = None
    if not isinstance(start, date):
        raise RosterError(f"{where('start')}: start must be a date such as 2027-01-04 (the first shift's day)")
    handoff = _clock_time(spec.get("handoff", "09:00"), where("handoff"))
    day_name = spec.get("handoff_day")
    if day_name is not None:
        wanted = _weekday(str(day_name), where("handoff_day"))
        if start.weekday() != wanted:
            raise RosterError(
                f"{where('start')}: start {start} is a {WEEKDAYS[start.weekday()]}, but handoff_day is {day_name}"
            )
    restrict = spec.get("restrict", [])
    if isinstance(restrict, str):
        restrict = [restrict]
    restrictions = tuple(_restriction(str(r), where("restrict")) for r in restrict)
    return Layer(name, tuple(rotation), start, handoff, days, hours, restrictions)


def _shift(value: Any, where: str) -> tuple[int, int]:
    m = _SHIFT.match(str(value))
    if not m or int(m.group(1)) <= 0:
        raise RosterError(f"{where}: shift {value!r} is not a length such as 1w, 3d, 1d or 12h")
    n, unit = int(m.group(1)), m.group(2).lower()
    if unit == "h":
        return 0, n
    return (n * 7 if unit == "w" else n), 0


def _clock_time(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise RosterError(f"{where}: {value!r} is not a time of day such as 10:00") from None


def _weekday(text: str, where: str) -> int:
    key = text.strip().lower()[:3]
    if key not in WEEKDAYS:
        raise RosterError(f"{where}: {text!r} is not a weekday (monday … sunday)")
    return WEEKDAYS.index(key)


def _restriction(text: str, where: str) -> Restriction:
    m = _RESTRICT.match(text)
    if not m:
        raise RosterError(f"{where}: restriction {text!r} is not like 'mon-fri 09:00-17:00' or '22:00-06:00'")
    if m.group("d1"):
        first = _weekday(m.group("d1"), where)
        last = _weekday(m.group("d2"), where) if m.group("d2") else first
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
    else:
        days = frozenset(range(7))
    start, end = _clock_time(m.group("t1"), where), _clock_time(m.group("t2"), where)
    if start == end:
        raise RosterError(f"{where}: restriction {text!r} starts and ends at the same time")
    return Restriction(days, start, end)


def check_overlap(new: Override, existing: Iterable[Override]) -> Override | None:
    """The first live override of the same schedule whose time overlaps `new`'s."""
    for o in existing:
        live = o.schedule == new.schedule and o.cancelled_at is None and o.id != new.id
        if live and o.starts_at < new.ends_at and new.starts_at < o.ends_at:
            return o
    return None
