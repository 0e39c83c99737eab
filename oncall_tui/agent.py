"""`oncall-tui agent`: the desk's clocks, alert intake and paging, headless, for a server or a
systemd unit.

It does what an open board does on its one tick, with the same parts: the deadlines are
`deadlines.compute`, breaches are noticed by the same `BreachWatcher` and written by the same
`record_all`, Alertmanager is polled by the same `Poller` schedule and `Intake`, and pages go out
through the same `Pager` (whose claim keeps an agent and any number of desks to one sender). One
tick a second; between ticks it sleeps, so an idle agent costs next to nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from .alerts.client import AlertSourceError
from .alerts.intake import Intake, intake_for
from .alerts.poller import Poller
from .breaches import BreachWatcher, Clocks, record_all
from .clock import Clock, format_local
from .config import DeskOptions
from .deadlines import compute
from .desk import Desk
from .model import Incident
from .notify.pager import Pager
from .roster import RosterSource
from .store import StoreError

TICK_SECONDS = 1.0


class Agent:
    def __init__(
        self,
        desk: Desk,
        options: DeskOptions,
        *,
        clock: Clock,
        roster: RosterSource | None = None,
        out: TextIO = sys.stdout,
        intake: Intake | None = None,
    ) -> None:
        self.desk = desk
        self.options = options
        self.clock = clock
        self.roster = roster or RosterSource(desk.policy)
        self.pager = Pager(desk, self.roster, kind="agent")
        self.breaches = BreachWatcher()
        self.out = out
        self.intake = intake
        self.poller: Poller | None = None
        self._data_version: int | None = None
        self._incidents: list[Incident] = []
        self._clocks: list[Clocks] = []
        self._reported: set[str] = set()
        self._problem = ""
        self._sent_seen = 0
        if intake is not None or options.alertmanager_url:
            self.poller = Poller(desk.policy.alerts.poll_seconds)

    def say(self, text: str) -> None:
        print(f"{format_local(self.clock.now(), with_date=True)}  {text}", file=self.out, flush=True)

    def start(self) -> None:
        roster = self.roster.get()
        where = self.desk.store.location
        if roster.configured:
            self.say(
                f"agent {self.pager.token} watching {where}: paging {len(roster.people)} people, "
                f"{len(roster.schedules)} schedules"
            )
        else:
            self.say(
                f"agent watching {where}: NOT PAGING — no people.toml in {self.roster.directory} (see README, Paging)"
            )
        if self.roster.problem:
            self.say(f"roster problem: {self.roster.problem}")
        if self.poller is not None and self.intake is None:
            try:
                self.intake = intake_for(self.desk, self.options)
            except AlertSourceError as exc:
                self.say(f"alert intake off: {exc}")
                self.poller = None

    # --- the tick ---------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """The board's tick without a board: clocks, breaches, pages, heartbeat."""
        now = now or self.clock.now()
        try:
            version = self.desk.data_version()
            if version != self._data_version:
                self._data_version = version
                self._incidents = self.desk.incidents()
            self._clocks = [Clocks(i, compute(i, self.desk.policy, now)) for i in self._incidents]
            new = self.breaches.observe(self._clocks)
            if new:
                written = record_all(self.desk, new)
                for b in new:
                    self.say(f"{b.incident_id}: {b.label} deadline missed")
                if written:
                    self._data_version = None
            for key in self.pager.step(now):
                self.say(f"paging {key}")
            self._report_sent()
            if self.roster.problem and self.roster.problem != self._problem:
                self.say(f"roster problem: {self.roster.problem}")
            self._problem = self.roster.problem
        except StoreError as exc:
            if str(exc) != self._problem:
                self.say(f"database: {exc}")
                self._problem = str(exc)

    def _report_sent(self) -> None:
        sent = self.pager.sent
        while self._sent_seen < len(sent):
            o = sent[self._sent_seen]
            self._sent_seen += 1
            self.say(f"page {o.key} to {o.person}: {o.state} ({o.summary})")

    async def poll_alerts(self, now: datetime) -> None:
        if self.poller is None or self.intake is None or not self.poller.due(now):
            return
        self.poller.started(now)
        try:
            result = await self.intake.pull()
        except (AlertSourceError, StoreError) as exc:
            health = self.poller.failed(self.clock.now(), str(exc))
            if health.failures == 1:
                self.say(f"Alertmanager: {exc}")
            return
        if result.skipped:
            self.poller.skipped(self.clock.now())
        else:
            self.poller.succeeded(self.clock.now(), alerts=result.alerts, warning="; ".join(result.problems))
        if result.wrote:
            self._data_version = None
            self.tick()  # a new alert-born incident pages now, not at the next tick

    async def run(self, stop: asyncio.Event, *, sleep: Callable[[float], object] | None = None) -> None:
        self.start()
        try:
            while not stop.is_set():
                now = self.clock.now()
                self.tick(now)
                await self.poll_alerts(now)
                # Wake on the next whole second: the same rhythm as the board's clock.
                wait = TICK_SECONDS - (self.clock.now().timestamp() % TICK_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.05, wait))
        finally:
            self.say("agent stopping: letting pages in flight finish")
            self.pager.close(wait=30)
            self._report_sent()
            if self.intake is not None:
                with contextlib.suppress(Exception):
                    await self.intake.client.aclose()


def run_agent(desk: Desk, options: DeskOptions, clock: Clock) -> int:
    agent = Agent(desk, options, clock=clock)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await agent.run(stop)

    asyncio.run(main())
    return 0
