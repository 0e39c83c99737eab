"""How the desk is doing: the report's numbers, incidents per day as a chart, and the weekly trend
of time to acknowledge — over the last 30 days (`p` cycles 7, 30 and 90)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Label, Sparkline, Static

from ... import metrics
from ...desk import Desk
from ..widgets.footer import DeskFooter

if TYPE_CHECKING:
    from ..app import OncallApp

PERIODS = (30, 90, 7)
WEEK_BAR = 24  # characters for the longest weekly bar


class MetricsScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    DEFAULT_CSS = """
    MetricsScreen { layout: vertical; }
    MetricsScreen #metrics-header { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    MetricsScreen #metrics-body { height: 1fr; }
    MetricsScreen .section { height: 1; padding: 0 1; margin-top: 1; color: $text-muted; text-style: bold; }
    MetricsScreen #metrics-numbers { height: auto; padding: 0 1; }
    MetricsScreen #metrics-breaches { height: auto; margin: 0 1; }
    MetricsScreen #metrics-breaches-none { height: auto; padding: 0 1; }
    MetricsScreen #per-day { height: 3; margin: 0 1; }
    MetricsScreen.-wide #per-day { height: 6; }
    MetricsScreen #per-day-axis { height: 1; padding: 0 1; color: $text-muted; }
    MetricsScreen #per-week { height: auto; padding: 0 1; }
    MetricsScreen #metrics-columns { height: auto; }
    MetricsScreen #metrics-left, MetricsScreen #metrics-right { height: auto; }
    MetricsScreen.-wide #metrics-columns { layout: horizontal; }
    MetricsScreen.-wide #metrics-left { width: 62; }
    MetricsScreen.-wide #metrics-right { width: 1fr; }
    """
    BINDINGS = [
        Binding("p", "next_period", "Period", id="metrics.period", tooltip="Last 30, 90 or 7 days"),
        Binding("r", "refresh_report", "Refresh", id="metrics.refresh", tooltip="Compute the report again"),
        Binding("escape", "close", "Back", id="metrics.close", tooltip="Back to the board"),
    ]

    def __init__(self, desk: Desk, *, days: int = PERIODS[0]) -> None:
        super().__init__()
        self.desk = desk
        self.days = days
        self.report: metrics.Report | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-header", markup=False)
        with VerticalScroll(id="metrics-body"):
            yield Static("", id="metrics-numbers")
            with Vertical(id="metrics-columns"):
                with Vertical(id="metrics-left"):
                    yield Label("Deadline breaches", classes="section", id="breaches-title")
                    table: DataTable[str | Content] = DataTable(
                        id="metrics-breaches", cursor_type="none", show_cursor=False, zebra_stripes=True
                    )
                    table.add_column("Deadline", key="kind", width=20)
                    for sev in ("P0", "P1", "P2", "P3", "P?"):
                        table.add_column(sev, key=sev, width=4)
                    table.add_column("Total", key="total", width=5)
                    yield table
                    yield Static("", id="metrics-breaches-none")
                with Vertical(id="metrics-right"):
                    yield Label("Incidents per day", classes="section", id="per-day-title")
                    yield Sparkline([], id="per-day", summary_function=max)
                    yield Static("", id="per-day-axis", markup=False)
                    yield Label("Mean time to acknowledge, per week", classes="section")
                    yield Static("", id="per-week")
        yield DeskFooter()

    def on_mount(self) -> None:
        self.action_refresh_report()
        self.query_one("#metrics-body").focus()

    @property
    def now(self) -> datetime:
        return self.app.now

    def action_next_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)] if self.days in PERIODS else PERIODS[0]
        self.action_refresh_report()

    def action_refresh_report(self) -> None:
        now = self.now
        period = metrics.period_ending(now, self.days)
        with self.app.reporting():
            self.report = metrics.build(self.desk.store, self.desk.policy, now, period)
            self._paint(self.report)

    def action_close(self) -> None:
        self.dismiss(None)

    # --- painting ---------------------------------------------------------------------------------

    def _paint(self, r: metrics.Report) -> None:
        first, last = r.per_day[0][0], r.per_day[-1][0]
        self.query_one("#metrics-header", Static).update(
            f"Metrics · incidents started {first} → {last} (UTC, last {self.days} days)"
        )
        self.query_one("#metrics-numbers", Static).update(self._numbers(r))

        table = self.query_one("#metrics-breaches", DataTable)
        table.clear()
        for key, counts in r.breaches.by_kind.items():
            cells = [str(counts[k]) if counts[k] else Content.styled("·", "$text-muted") for k in metrics.SEVERITY_KEYS]
            table.add_row(metrics.deadline_label(key), *cells, str(sum(counts.values())), key=key)
        table.display = bool(r.breaches.by_kind)
        none = self.query_one("#metrics-breaches-none", Static)
        none.update(
            Content.from_markup(
                "$recorded recorded on the timeline · [$text-warning]$unrecorded[/] found only from the milestones",
                recorded=str(r.breaches.recorded),
                unrecorded=str(r.breaches.unrecorded),
            )
            if r.breaches.total
            else Content.from_markup("[$text-success]No deadline missed in this period.[/]")
        )

        per_day = [n for _, n in r.per_day]
        self.query_one("#per-day-title", Label).update(
            f"Incidents per day (busiest: {max(per_day, default=0)}, today: {per_day[-1] if per_day else 0})"
        )
        self.query_one("#per-day", Sparkline).data = per_day
        self._paint_axis()
        self.query_one("#per-week", Static).update(self._weeks(r))

    def on_resize(self) -> None:
        # The axis labels sit at the chart's two ends: its width is known once laid out.
        self.call_after_refresh(self._paint_axis)

    def _paint_axis(self) -> None:
        if self.report is None or not self.report.per_day:
            return
        first, last = self.report.per_day[0][0], self.report.per_day[-1][0]
        width = self.query_one("#per-day", Sparkline).size.width or 30
        left, right = first.strftime("%b %d"), last.strftime("%b %d")
        self.query_one("#per-day-axis", Static).update(left + right.rjust(max(width - len(left), len(right) + 1)))

    @staticmethod
    def _numbers(r: metrics.Report) -> Content:
        sev = " · ".join(f"{k} {r.by_severity[k]}" for k in ("P0", "P1", "P2", "P3"))
        undetermined = r.by_severity["undetermined"]
        lines = [
            Content.from_markup(
                "[bold]$total[/] incidents · $sev$undet · [$text-warning]$open still open[/]",
                total=str(r.total),
                sev=sev,
                undet=f" · P? {undetermined}" if undetermined else "",
                open=str(r.open),
            ),
            _duration_line("Acknowledge", r.acknowledge, "acknowledged", "never"),
            _duration_line("Resolve", r.resolve, "resolved", "still open"),
            Content.assemble(
                f"{'Action items':<13} ",
                (str(r.action_items.open), "bold"),
                " open · ",
                (f"{r.action_items.overdue} overdue", "$text-error bold" if r.action_items.overdue else ""),
                f" · {r.action_items.done} done",
            ),
        ]
        return Content("\n").join(lines)

    @staticmethod
    def _weeks(r: metrics.Report) -> Content:
        means = [w.mean_acknowledge for w in r.per_week if w.mean_acknowledge is not None]
        if not means:
            return Content.from_markup("[$text-muted]Nothing acknowledged in this period.[/]")
        top = max(means)
        lines = []
        for w in r.per_week:
            if w.mean_acknowledge is None:
                bar, value = "", "—"
            else:
                bar = "█" * max(1, round(w.mean_acknowledge / top * WEEK_BAR)) if top else "▏"
                value = metrics.duration_text(w.mean_acknowledge)
            lines.append(
                Content.assemble(
                    (w.week.strftime("%b %d"), "$text-muted"),
                    "  ",
                    (f"{bar:<{WEEK_BAR}}", "$primary"),
                    f" {value:>6}",
                    (f"  ({w.acknowledged})", "$text-muted"),
                )
            )
        return Content("\n").join(lines)


def _duration_line(label: str, stats: metrics.DurationStats, have: str, missing: str) -> Content:
    return Content.assemble(
        f"{label:<13} mean ",
        (f"{metrics.duration_text(stats.mean):>6}", "bold"),
        " · p90 ",
        (f"{metrics.duration_text(stats.p90):>6}", "bold"),
        (f"  ({stats.count} {have} · {stats.missing} {missing})", "$text-muted"),
    )
