"""Alertmanager inside the app: the poller as a worker, its health as one short line.

`AlertSource` is both: a one-line indicator (`AM ok 2s`, `AM down: connection refused (retry in
20s)`) and the owner of the intake. It runs on the app's one tick (it watches `app.now`, no timer of
its own); each tick it asks the pure `Poller` whether a poll is due, and if so starts the one async
worker of the "alerts" group — never two at once, since the poller is not due while one is in
flight. Alertmanager being down, slow or talking nonsense changes this line, never the rest of the
desk: the worker catches every failure and the poller backs off.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual import getters, work
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget

from ...alerts.client import AlertSourceError
from ...alerts.intake import Intake, PullResult, intake_for
from ...alerts.poller import Poller, State
from ...clock import Clock, format_local
from ...config import DeskOptions
from ...desk import Desk
from ...store import StoreError

if TYPE_CHECKING:
    from ..app import OncallApp

MAX_WIDTH = 56  # the indicator shares the top line; the whole error is in its tooltip
COMPACT_BELOW = 110  # columns: narrower, the top line is needed for the desk's own summary
NOTIFY_AT_MOST = 3


class StatusLine(Horizontal):
    """The app's top line with the intake's health at its right end."""

    DEFAULT_CSS = """
    StatusLine { height: 1; }
    StatusLine > * { width: 1fr; }
    StatusLine > AlertSource { width: auto; }
    """


class AlertSource(Widget):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    AlertSource { width: auto; max-width: 56; height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(
        self,
        desk: Desk,
        options: DeskOptions,
        *,
        clock: Clock,
        intake: Intake | None = None,
        id: str | None = "alert-source",
    ) -> None:
        super().__init__(id=id)
        self.desk = desk
        self.options = options
        self.clock = clock
        self.intake = intake
        self.poller = Poller(desk.policy.alerts.poll_seconds)
        self.unusable = ""  # why this desk cannot import at all (read-only, auth env missing)
        self._problems_shown: set[str] = set()

    # --- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.desk.readonly:
            self.unusable = "read-only desk, not importing"
        elif self.intake is None:
            try:
                self.intake = intake_for(self.desk, self.options, library=self.app.runbooks)
            except AlertSourceError as exc:
                self.unusable = str(exc)
                self.notify(str(exc), title="Alertmanager", severity="error", timeout=15, markup=False)
        self.watch(self.app, "now", self._tick, init=False)
        self._tick(self.clock.now())

    async def on_unmount(self) -> None:
        if self.intake is not None:
            await self.intake.client.aclose()

    def _tick(self, now: datetime) -> None:
        if not self.unusable and self.poller.due(now):
            self.poller.started(now)  # in flight from here: no second worker is started meanwhile
            self.pull()
        self._show()

    def poll_soon(self) -> None:
        """Pull now rather than at the next interval: an acknowledgement wants its silence."""
        self.poller.poll_soon()
        self._tick(self.clock.now())

    # --- the worker -----------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="alerts")
    async def pull(self) -> None:
        assert self.intake is not None
        try:
            result = await self.intake.pull()
        except AlertSourceError as exc:
            self._failed(str(exc))
            return
        except StoreError as exc:
            self._failed(f"database: {exc}")
            return
        except Exception as exc:
            # A bug, not an outage: keep polling (backed off), and let the app report it in full.
            self._failed(f"{type(exc).__name__}: {exc}")
            raise
        now = self.clock.now()
        was_down = self.poller.health.state is State.DOWN
        if result.skipped:
            self.poller.skipped(now)
        else:
            self.poller.succeeded(now, alerts=result.alerts, warning="; ".join(result.problems))
        if was_down and not result.skipped:
            self.notify("Alertmanager answers again.", title="Alertmanager", timeout=5)
        self._report(result)
        self._show()
        if self.poller.due(now):  # an acknowledgement arrived while this poll ran
            self.call_later(self._tick, now)

    def _failed(self, error: str) -> None:
        was_down = self.poller.health.state is State.DOWN
        self.poller.failed(self.clock.now(), error)
        if not was_down:
            self.notify(
                f"{error} — the desk keeps working; retrying.",
                title="Alertmanager unreachable",
                severity="warning",
                timeout=8,
                markup=False,
            )
        self._show()

    def _report(self, result: PullResult) -> None:
        """Show what the poll wrote; ring for a new incident, as a pager would."""
        if result.wrote:
            self.app.refresh_incidents()
            declared = [c for c in result.changes if c.kind == "declared"]
            for change in result.changes[:NOTIFY_AT_MOST]:
                self.notify(
                    change.text,
                    title="Alert",
                    severity="warning" if change.kind == "declared" else "information",
                    timeout=10,
                    markup=False,
                )
            if len(result.changes) > NOTIFY_AT_MOST:
                self.notify(
                    f"…and {len(result.changes) - NOTIFY_AT_MOST} more changes from Alertmanager",
                    title="Alert",
                    timeout=10,
                )
            if declared:
                self.app.bell()
        fresh = [p for p in result.problems if p not in self._problems_shown]
        for problem in fresh[:NOTIFY_AT_MOST]:
            self.notify(problem, title="Alertmanager", severity="error", timeout=15, markup=False)
        self._problems_shown = set(result.problems)  # repeat a problem only after it went away

    # --- the indicator --------------------------------------------------------------------------

    def _show(self) -> None:
        self.tooltip = self._health_tooltip()
        self.refresh()

    def describe(self) -> str:
        compact = self.app.size.width < COMPACT_BELOW
        if self.unusable:
            return "AM off" if compact else f"AM off: {self.unusable}"
        return self.poller.health.describe(self.clock.now(), compact=compact)

    def render(self) -> Content:
        text = self.describe()
        if len(text) > MAX_WIDTH - 2:
            text = text[: MAX_WIDTH - 3] + "…"
        health = self.poller.health
        if self.unusable or health.state is State.DOWN:
            style = "$text-error bold"
        elif health.state is State.OK:
            style = "$text-warning" if health.warning else "$text-success"
        else:
            style = "$text-muted"
        return Content.styled(text, style)

    def _health_tooltip(self) -> str:
        h = self.poller.health
        lines = [f"Alertmanager {self.options.alertmanager_url}"]
        if self.unusable:
            lines.append(self.unusable)
        if h.last_ok_at:
            lines.append(f"last answer {format_local(h.last_ok_at)}, {h.alerts} alerts")
        if h.state is State.DOWN:
            lines.append(f"error: {h.error} ({h.failures} failed polls in a row)")
        if h.warning:
            lines.append(f"warning: {h.warning}")
        return "\n".join(lines)
