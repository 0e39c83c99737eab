"""The wall: the board for a screen across the room, read-only by construction.

`WallApp` binds no key and offers no command that changes the record (its one key quits; its
palette offers the theme, the keys and quitting), and the launcher opens the store
read-only, so even a bug in here could not write. One `set_interval(1, tick)` drives every clock
on it and turns its pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import Screen

from ...alerts.poller import Poller
from ...clock import Clock
from ...config import DeskOptions
from ...desk import Desk, StoreError
from ..board_model import BoardModel
from ..incident_source import IncidentSource
from .model import CYCLE_SECONDS, counts, on_call, plan
from .widgets import AllClear, ClockCard, HealthLine, IncidentLines, OnCallLine, WallTop

LARGE_TIME_HEIGHT = 40  # from this many lines the time is drawn in large digits
ROSTER_EVERY = timedelta(seconds=30)  # who holds a level changes at handoffs and overrides, not each second
ALLOWED_SYSTEM_COMMANDS = ("Theme", "Quit", "Keys")  # none of them writes anything


class WallScreen(Screen[None]):
    """Breached clocks first and large, every other open incident a line, who to call, health."""

    def __init__(self, desk: Desk, options: DeskOptions, *, clock: Clock, cycle: float = CYCLE_SECONDS) -> None:
        super().__init__(id="wall")
        self.desk = desk
        self.clock = clock
        self._now = clock.now()  # the last tick's instant, for repainting on a resize
        self.options = options
        self.cycle = cycle
        self.model = BoardModel(desk.policy)
        self._source = IncidentSource(desk)
        self._data_version: int | None = None
        self._cards: list[ClockCard] = []
        self.top = WallTop(demo=options.demo, id="wall-top")
        self.grid = Grid(id="wall-cards")
        self.lines = IncidentLines(id="wall-lines")
        self.all_clear = AllClear(id="all-clear")
        self.on_call = OnCallLine(id="wall-on-call")
        self.health = HealthLine(id="wall-health")
        self.health.alertmanager = ", ".join(options.alertmanager_urls) or None
        self._holders: dict[str, tuple[str, datetime | None, str]] = {}  # level → (name, until, why nobody)
        self._roster_at: datetime | None = None
        self._roster_source: object | None = None

    def compose(self) -> ComposeResult:
        yield self.top
        with Vertical(id="wall-body"):
            yield self.grid
            yield self.lines
            yield self.all_clear
        with Vertical(id="wall-bottom"):
            yield self.on_call
            yield self.health

    def on_mount(self) -> None:
        self.reload(self._now)
        self.show(self._now)

    def on_resize(self) -> None:
        self.show(self._now)

    # --- data -----------------------------------------------------------------------------------

    def reload(self, now: datetime) -> None:
        health = self.health
        problem = health.store_problem
        try:
            version = self.desk.data_version()
            if version != self._data_version:
                self.model.load(self._source.read(include_closed=False), now)
                self._data_version = version
            self.model.advance(now)
        except StoreError as exc:
            # The wall keeps showing its last read, and says loudly that it is stale.
            health.store_problem = str(exc)
        else:
            health.store_problem = ""
            health.read_at = now
        if health.store_problem != problem:
            health.refresh()

    # --- what is on screen ----------------------------------------------------------------------

    def show(self, now: datetime) -> None:
        self._now = now
        if not self.is_mounted or self.size.height == 0:
            return
        now_ts = now.timestamp()
        rows = self.model.rows
        tally = counts(rows)
        large = self.size.height >= LARGE_TIME_HEIGHT and self.size.width >= 100
        body_height = self.size.height - (3 if large else 1) - 2
        shown = plan(rows, self.size.width - 2, body_height, now_ts, self.cycle)
        with self.app.batch_update():
            self.top.show(now, tally, (shown.page, shown.pages), large)
            self._show_cards(shown.cards, shown.columns, now_ts)
            self.lines.show(shown.lines, shown.line_total, now_ts)
            self.all_clear.display = tally.open == 0
            self.on_call.show(on_call(self.desk.policy, rows), self._holders)
            if self.health.alertmanager or self.health.store_problem:  # their ages move every second
                self.health.now = now
                self.health.refresh()
            elif self.health.now is None:
                self.health.now = now

    def _show_cards(self, rows: Iterable, columns: int, now_ts: float) -> None:
        rows = list(rows)
        grid = self.grid
        grid.display = bool(rows)
        grid.styles.grid_size_columns = columns
        grid.styles.height = (len(rows) + columns - 1) // columns * 5 if rows else 0
        while len(self._cards) < len(rows):
            card = ClockCard()
            self._cards.append(card)
            grid.mount(card)
        for i, card in enumerate(self._cards):
            card.show(rows[i] if i < len(rows) else None, now_ts)

    # --- who holds each level (people.toml, schedules.toml and the overrides), read only ---------

    def poll_roster(self, now: datetime) -> None:
        if self._roster_at is not None and now - self._roster_at < ROSTER_EVERY:
            return
        self._roster_at = now
        self._look_roster(now)

    @work(thread=True, exclusive=True, exit_on_error=False, group="wall-roster")
    def _look_roster(self, now: datetime) -> None:
        # A thread of its own and a connection of its own (a Store is not shared between threads).
        # It only reads: the wall never pages anyone, the desks and the agent do.
        from ...notify.pager import live_overrides
        from ...roster import RosterSource, holdings

        if self._roster_source is None:
            self._roster_source = RosterSource(self.desk.policy)
        source = self._roster_source
        assert isinstance(source, RosterSource)
        roster = source.get()
        found: dict[str, tuple[str, datetime | None, str]] = {}
        if roster.configured:
            desk = Desk(self.desk.store.reopen(readonly=True), self.desk.policy, self.clock)
            try:
                overrides = live_overrides(desk.store, now)
            finally:
                desk.close()
            for h in holdings(roster, self.desk.policy, now, overrides):
                name = roster.people[h.person].name if h.person and h.person in roster.people else ""
                found[h.level] = (name, h.until, h.why_nobody)
        self.app.call_from_thread(self._roster_seen, found)

    def _roster_seen(self, holders: dict[str, tuple[str, datetime | None, str]]) -> None:
        if holders != self._holders:
            self._holders = holders
            self.show(self._now)

    # --- Alertmanager's health (read only: the wall asks, never silences or imports) ------------

    def poll_alertmanager(self, poller: Poller, now: datetime) -> None:
        if self.options.alertmanager_url and poller.due(now):
            poller.started(now)
            self._pull(poller)

    @work(exclusive=True, exit_on_error=False, group="wall-alerts")
    async def _pull(self, poller: Poller) -> None:
        from ...alerts.client import AlertmanagerClient, AlertSourceError

        health = self.health
        try:
            alerts = await self._first_answer(AlertmanagerClient, AlertSourceError)
        except AlertSourceError as exc:
            health.health = poller.failed(self.clock.now(), str(exc))
        except Exception as exc:  # a bug, not an outage: keep polling, say what it was
            health.health = poller.failed(self.clock.now(), f"{type(exc).__name__}: {exc}")
        else:
            firing = sum(1 for a in alerts if a.state == "active")
            health.health = poller.succeeded(self.clock.now(), alerts=firing)
        health.refresh()

    async def _first_answer(self, client_type: Any, error_type: type[Exception]) -> tuple[Any, ...]:
        """The alerts of the first Alertmanager of the cluster that answers: any one of them has them all."""
        failures = []
        for url in self.options.alertmanager_urls:
            try:
                async with client_type.from_settings(
                    url, self.options.section("alertmanager"), timeout=self.desk.policy.alerts.timeout_seconds
                ) as client:
                    return tuple(await client.alerts())
            except error_type as exc:
                failures.append(f"{url}: {exc}" if len(self.options.alertmanager_urls) > 1 else str(exc))
        raise error_type("; ".join(failures))


class WallApp(App[int]):
    CSS_PATH = "wall.tcss"
    TITLE = "oncall-tui wall"
    # Keys that read only. Every desk key that writes (a, d, s, f, x, o, e, n, m…) is simply absent.
    BINDINGS = [
        Binding("q", "quit", "Quit", id="wall.quit", tooltip="Close the wall (the desk is not changed)"),
    ]

    def __init__(
        self, desk: Desk, options: DeskOptions, *, clock: Clock | None = None, cycle: float = CYCLE_SECONDS
    ) -> None:
        super().__init__()
        if not desk.readonly:
            raise ValueError("the wall opens the desk read-only (Desk.open(..., readonly=True))")
        self.desk = desk
        self.options = options
        self.clock = clock or desk.clock
        self.cycle = cycle
        self.now = self.clock.now()
        self._poller = Poller(desk.policy.alerts.poll_seconds * 3)  # a wall needs health, not every alert

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title in ALLOWED_SYSTEM_COMMANDS:
                yield command

    def on_mount(self) -> None:
        self.push_screen(WallScreen(self.desk, self.options, clock=self.clock, cycle=self.cycle))
        self.set_interval(1, self.tick, name="wall-clock")
        self.call_after_refresh(self.tick)

    def tick(self) -> None:
        """The one clock: re-read the desk if it changed, turn the clocks and the pages."""
        self.now = now = self.clock.now()
        screen = self.screen
        if isinstance(screen, WallScreen):
            screen.reload(now)
            screen.poll_alertmanager(self._poller, now)
            screen.poll_roster(now)
            screen.show(now)
