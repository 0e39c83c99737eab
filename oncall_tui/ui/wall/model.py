"""What the wall shows, computed without Textual: which clocks are large, which pages cycle.

The wall reuses the board's rows (`BoardModel`: the same deadlines, the same order, breached
first). What it adds is a layout for reading across a room: the breached incidents as large
cards, every other open incident as one line, and — when more are open than fit — pages that
turn with the clock. The page on screen is a function of the time alone, so the app's one tick
turns them and two walls on the same desk show the same page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...deadlines import kind
from ...model import Severity
from ...policy import Policy
from ..board_model import BoardRow, Tone

CARD_HEIGHT = 4  # a title line and three lines of large digits
CARD_MIN_WIDTH = 60  # the title, the severity and the large clock side by side
CYCLE_SECONDS = 8  # long enough to read a page from across the room
LOUD = frozenset({Severity.P0, Severity.P1})


def clock_digits(seconds: float) -> str:
    """A countdown for large digits: '4:05', '1:02:05'; a clock beyond 99 hours counts days."""
    s = int(abs(seconds))
    if s >= 100 * 3600:
        return f"{s // 86400}D"  # Digits draws A-F: "4D" reads as four days
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass(frozen=True, slots=True)
class Clock:
    """One incident's most urgent clock as the wall shows it at an instant."""

    digits: str  # '+12:05' once overdue, '4:55' while time is left
    caption: str  # 'ACKNOWLEDGE OVERDUE', 'NOTIFY STAKEHOLDERS DUE IN'
    short: str  # the one-line form: '!! ack 12m05s overdue'
    tone: Tone


def clock_of(row: BoardRow, now_ts: float) -> Clock:
    (short, tone, _age), _until = row.dynamic_text(now_ts)
    if row.due_ts is None or row.next_due is None:
        return Clock("", "NO CLOCK RUNNING", short, tone)
    left = row.due_ts - now_ts
    found = kind(row.next_due.key)
    name = found.caption if found is not None else row.next_due.label.upper()
    if left < 0:
        return Clock("+" + clock_digits(left), f"{name} OVERDUE", short, tone)
    return Clock(clock_digits(left), f"{name} DUE IN", short, tone)


def escalation_of(row: BoardRow) -> str:
    """Who is to be called for this incident now, by the escalation policy: 'Secondary On-Call'."""
    assert row.escalation is not None  # the wall loads its rows in full, never lazily
    return row.escalation.tier.level


@dataclass(frozen=True, slots=True)
class Page:
    rows: tuple[BoardRow, ...]
    number: int  # from 1
    pages: int


def page_of(items: list[BoardRow], size: int, now_ts: float, cycle: float = CYCLE_SECONDS) -> Page:
    """The page of `items` on screen at `now_ts`: pages turn every `cycle` seconds."""
    if not items:
        return Page((), 1, 1)
    if size <= 0:
        return Page((), 1, 1)
    pages = math.ceil(len(items) / size)
    index = int(now_ts // cycle) % pages if pages > 1 else 0
    return Page(tuple(items[index * size : (index + 1) * size]), index + 1, pages)


@dataclass(frozen=True, slots=True)
class Plan:
    """What is on the wall at one instant."""

    columns: int
    cards: tuple[BoardRow, ...]  # large: breached first, then P0/P1 clocks while there is room
    lines: Page  # one line each: everything else open
    line_total: int
    page: int
    pages: int


def plan(rows: list[BoardRow], width: int, height: int, now_ts: float, cycle: float = CYCLE_SECONDS) -> Plan:
    """Share `height` lines between large cards and one-line rows, and pick the pages on screen.

    Breached incidents are large and stay on screen; P0/P1 (and undetermined) incidents fill the
    card slots left and turn through them when more are open than fit; P2/P3 are one line each.
    Cards leave room for a few lines when there are other incidents: a wall showing three huge
    clocks and hiding nine open incidents misleads.
    """
    breached, loud, quiet = split(rows)
    columns = max(1, min(3, width // CARD_MIN_WIDTH))
    card_height = CARD_HEIGHT + 1  # a blank line between cards
    wanted_lines = len(quiet) + (len(loud) if len(breached) >= columns * 2 else 0)
    keep = min(wanted_lines, max(3, height // 4)) + 1 if wanted_lines else 0
    card_rows = max(0, (height - keep + 1) // card_height)
    if breached and card_rows == 0 and height >= CARD_HEIGHT:
        card_rows = 1  # a breach is always shown large, even at the expense of the rows
    slots = card_rows * columns
    if len(breached) >= slots:
        shown = page_of(breached, slots, now_ts, cycle)
        waiting = [r for r in breached if r not in shown.rows]
        cards, card_pages, lines_items = shown.rows, (shown.number, shown.pages), waiting + loud + quiet
    else:
        free = slots - len(breached)
        if len(loud) <= free:
            cards, card_pages, lines_items = tuple(breached + loud), (1, 1), quiet
        else:
            # The loud ones turn through the free slots; those on a later page wait as lines, so
            # every open incident is on screen at every instant.
            shown = page_of(loud, free, now_ts, cycle)
            cards = tuple(breached) + shown.rows
            card_pages = (shown.number, shown.pages)
            lines_items = [r for r in loud if r not in shown.rows] + quiet
    used_cols = columns if len(cards) >= columns else max(1, len(cards))
    used = math.ceil(len(cards) / used_cols) * card_height if cards else 0
    line_rows = max(0, height - used - (1 if lines_items else 0))
    lines = page_of(lines_items, line_rows, now_ts, cycle)
    pages = max(card_pages[1], lines.pages)
    page = max(card_pages[0], lines.number) if pages > 1 else 1
    return Plan(used_cols, cards, lines, len(lines_items), page, pages)


def split(rows: list[BoardRow]) -> tuple[list[BoardRow], list[BoardRow], list[BoardRow]]:
    """(breached, loud, quiet) open incidents, each in the board's order (nearest deadline first).

    Loud: P0, P1 and undetermined severities (which may be a P0); quiet: P2 and P3.
    """
    breached: list[BoardRow] = []
    loud: list[BoardRow] = []
    quiet: list[BoardRow] = []
    for r in rows:
        if not r.incident.is_open:
            continue
        if r.breached:
            breached.append(r)
        elif r.incident.severity is None or r.incident.severity in LOUD:
            loud.append(r)
        else:
            quiet.append(r)
    return breached, loud, quiet


@dataclass(frozen=True, slots=True)
class Counts:
    open: int
    breached: int
    unacknowledged: int
    loud: int  # P0, P1 or undetermined


def counts(rows: list[BoardRow]) -> Counts:
    open_rows = [r for r in rows if r.incident.is_open]
    return Counts(
        len(open_rows),
        sum(1 for r in open_rows if r.breached),
        sum(1 for r in open_rows if r.incident.acknowledged_at is None),
        sum(1 for r in open_rows if r.incident.severity is None or r.incident.severity in LOUD),
    )


def on_call(policy: Policy, rows: list[BoardRow]) -> list[tuple[str, str, list[str]]]:
    """The escalation ladder as (level, contact, incidents now at that level), first two tiers always.

    Until schedules name people, the policy's contact for each level is who to call; a level above
    the secondary appears only while some incident has reached it.
    """
    reached: dict[str, list[str]] = {}
    for row in rows:
        if row.incident.is_open:
            reached.setdefault(escalation_of(row), []).append(row.incident.id)
    ladder = []
    for i, tier in enumerate(policy.escalation):
        ids = reached.get(tier.level, [])
        if i < 2 or ids:
            ladder.append((tier.level, tier.contact, ids))
    return ladder
