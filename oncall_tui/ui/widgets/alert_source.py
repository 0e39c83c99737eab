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
from textual.widgets import Static

from ...alerts.blind import blind_reason
from ...alerts.client import AlertSourceError
from ...alerts.intake import Intake, PullResult, intake_for
from ...alerts.poller import Poller, State
from ...clock import Clock, format_duration, format_local
from ...config import DeskOptions
from ...desk import Desk
from ...store import StoreError

if TYPE_CHECKING:
    from ..app import OncallApp

NOTIFY_AT_MOST = 3


class StatusLine(Horizontal):
    """The app's top line with the intake's health at its right end."""

    DEFAULT_CSS = """
    StatusLine { height: 1; }
    StatusLine > * { width: 1fr; }
    StatusLine > AlertSource { width: auto; }
    """


class BlindBanner(Static):
    """The first line of the board, in red, while no alert can reach the desk (see `alerts.blind`)."""

    DEFAULT_CSS = """
    BlindBanner { display: none; height: auto; max-height: 3; background: $error; color: $text; padding: 0 1; text-style: bold; }
    BlindBanner.-blind { display: block; }
    """

    def __init__(self, *, id: str | None = "blind-banner") -> None:
        super().__init__("", id=id, markup=False)
        self.reason = ""

    def show_reason(self, reason: str) -> None:
        if reason != self.reason:
            self.reason = reason
            self.update(reason)
            self.set_class(bool(reason), "-blind")


class AlertSource(Widget):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    AlertSource { width: auto; height: 1; padding: 0 1; background: $panel; }
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
        self.watchdog_seen: bool | None = None  # in the last good poll
        self._problems_shown: set[str] = set()
        self._shown_width = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.desk.readonly:
            self.unusable = "read-only desk, not importing"
        elif self.intake is None:
            try:
                self.intake = intake_for(self.desk, self.options, library=self.app.runbooks, own_connection=True)
            except (AlertSourceError, StoreError) as exc:
                self.unusable = str(exc)
                self.notify(str(exc), title="Alertmanager", severity="error", timeout=15, markup=False)
        self.watch(self.app, "now", self._tick, init=False)
        self._tick(self.clock.now())

    async def on_unmount(self) -> None:
        if self.intake is not None:
            await self.intake.aclose()

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
        self.intake.on_batch = self._storm_batch
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
        finally:
            if self.app.bulk_writes:
                self.app.bulk_writes = False
                self.app.refresh_incidents()
        now = self.clock.now()
        was_down = self.poller.health.state is State.DOWN
        if result.skipped:
            self.poller.skipped(now)
        else:
            self.poller.succeeded(now, alerts=result.alerts, warning="; ".join(result.problems))
            self.watchdog_seen = result.watchdog
        if was_down and not result.skipped:
            self.notify("Alertmanager answers again.", title="Alertmanager", timeout=5)
        self._report(result)
        self._show()
        if self.poller.due(now):  # an acknowledgement arrived while this poll ran
            self.call_later(self._tick, now)

    def _storm_batch(self, changes) -> None:
        """A storm is importing in batches: the first shows at once, then the board catches up less
        often until the pull ends (its report re-reads the record)."""
        if not self.app.bulk_writes:
            self.app.refresh_incidents()
        self.app.bulk_writes = True

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
        text = self.describe()
        # `width: auto`: a longer text needs a relayout, or it is cut at the old width ("AM down:").
        self.refresh(layout=len(text) != self._shown_width)
        self._shown_width = len(text)
        reason = blind_reason(
            self.poller.health, self.watchdog_seen, self.desk.policy.alerts.watchdog, self.clock.now()
        )
        for banner in self.screen.query(BlindBanner):
            banner.show_reason(reason)

    def describe(self) -> str:
        """The indicator: short enough to always be whole (`AM 1/2 ok 3s`, `AM down (retry in
        20s)`, `AM ok 3s, restarted: settling 40s`); the reasons are one key away (A) and in the tooltip."""
        if self.unusable:
            return "AM off (A: why)"
        now = self.clock.now()
        text = self.poller.health.describe(now, compact=True)
        sources = self.intake.health if self.intake is not None else ()
        if len(sources) > 1:
            up = sum(1 for s in sources if s.up)
            text = text.replace("AM", f"AM {up}/{len(sources)}", 1)
        settling = [s.grace_until for s in sources if s.in_grace(now) and s.grace_until is not None]
        if settling:
            text += f", restarted: settling {format_duration(max(0.0, (max(settling) - now).total_seconds()))}"
        degraded = self.poller.health.warning or any(s.state is State.DOWN for s in sources)
        if degraded and self.poller.health.state is State.OK:  # working, but not all is well: why, behind A
            text += " (A)"
        return text

    def render(self) -> Content:
        text = self.describe()
        health = self.poller.health
        sources = self.intake.health if self.intake is not None else ()
        if self.unusable or health.state is State.DOWN:
            style = "$text-error bold"
        elif health.state is State.OK:
            degraded = health.warning or any(not s.up for s in sources)
            style = "$text-warning" if degraded else "$text-success"
        else:
            style = "$text-muted"
        return Content.styled(text, style)

    def explain(self) -> None:
        """Every Alertmanager's health in full, as a notification: the reason behind the indicator."""
        self.notify(self._health_tooltip(), title="Alertmanager", timeout=20, markup=False)

    def _health_tooltip(self) -> str:
        h = self.poller.health
        now = self.clock.now()
        lines = []
        if self.unusable:
            lines.append(self.unusable)
        sources = self.intake.health if self.intake is not None else ()
        for s in sources:
            if s.state is State.DOWN:
                state = f"down: {s.error} ({s.failures} failed polls in a row)"
            elif s.state is State.OK:
                state = f"ok, {s.alerts:,} alerts, last answer {format_local(s.last_ok_at)}" if s.last_ok_at else "ok"
            else:
                state = "not asked yet"
            if s.in_grace(now) and s.grace_until is not None:
                state += f"; restarted, its missing alerts count as stopped only after {format_local(s.grace_until)}"
            if s.warning:
                state += f"; {s.warning}"
            lines.append(f"{s.url}: {state}")
        if not sources:
            lines.append(f"Alertmanager {', '.join(self.options.alertmanager_urls)}")
        if h.warning:
            lines.append(f"warning: {h.warning}")
        return "\n".join(lines)
