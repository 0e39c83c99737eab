"""The selected incident in depth: its fields and clocks, and its timeline, as tabs.

Adding a tab (e.g. "Runbook"): add an empty pane to `IncidentDetail.compose` and build its
content in `IncidentDetail._build`, which runs when the tab is first opened — the board's first
frame does not wait for panes (or their modules) nobody has looked at yet:

    Pane("Runbook", id="tab-runbook"),
    ...
    if pane_id == "tab-runbook":
        from .runbook_pane import RunbookPane
        return RunbookPane(self.desk, self.app.runbooks, id="runbook-pane")

Any widget inside a pane that defines `show_incident(self, incident: Incident | None) -> None` is
called with the selected incident whenever its pane is on screen and the selection or the
incident's data changed (compare `incident.version` to skip work); hidden panes are brought up to
date when they are opened. For the time, watch `self.app.now` (one app-wide tick per second). The
tabs (`tabs.Tabbed`) have the id `detail-tabs`; `]` and `[` cycle through them, so a new tab needs no key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from rich.segment import Segment
from textual import getters
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static

from ...alerts.describe import alert_facts, fact_lines
from ...clock import format_duration, format_local
from ...deadlines import State, compute, major_names, notify_due_if_major
from ...desk import Desk, StoreError
from ...fired_before import fired_before
from ...model import Incident
from ...suggestion import suggest_for
from ...tenants import format_tenants
from ..board_model import Tone, countdown
from .tabs import Pane, Tabbed, TabStrip

if TYPE_CHECKING:
    from ..app import OncallApp
    from .paging_status import PagingStatus

# Content styles say $foreground-muted: $text-muted is an "auto" colour, which Content draws unblended (white).
TONE_STYLE = {
    Tone.BREACHED: "$text-error bold",
    Tone.WARNING: "$text-warning bold",
    Tone.DONE: "$text-success",
    Tone.NONE: "$foreground-muted",
    Tone.CALM: "",
}
SEVERITY_STYLE = {
    "P0": "$text-error bold",
    "P1": "$text-warning bold",
    "P2": "$text-primary",
    "P3": "$foreground-muted",
}


class LinesView(Widget):
    """Lines that never wrap, in a height that only grows, repainted line by line.

    Moving the selection changes what these show on every key press; a change of height would
    relayout the pane, and a relayout repaints the whole screen (15 ms, where a repaint of the
    lines costs 1). So the height is the most lines shown so far, padded below.

    Each line is rendered on its own and kept by what it shows: a new incident, or a tick, repaints
    only the lines whose text changed, and rendering a dozen whole-pane Contents on every key was
    most of a key's cost (the next incident's "acked by" line is often the same, a tick moves two
    countdowns).
    """

    DEFAULT_CSS = """
    LinesView { width: 1fr; height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, lines: int = 1, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Content] = [_BLANK] * lines
        self._strips: dict[tuple[object, ...], Strip] = {}  # a line's look → its rendered strip

    def set_content(self, content: Content) -> None:
        lines = content.split("\n")
        grown = len(lines) > len(self._lines)
        if len(lines) < len(self._lines):
            lines += [_BLANK] * (len(self._lines) - len(lines))
        old, self._lines = self._lines, lines
        if grown or not self.is_mounted:
            self.refresh(layout=grown)
            return
        width = self.outer_size.width
        for y, (before, after) in enumerate(zip(old, lines)):
            if _look(before) != _look(after):
                self.refresh(Region(0, y, width, 1))

    def render(self) -> Content:
        # What `height: auto` measures; the lines themselves are drawn by `render_line`.
        return Content("\n").join(self._lines)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        line = self._lines[y] if y < len(self._lines) else _BLANK
        key = (*_look(line), width)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > 512:  # lines of incidents long gone
                self._strips.clear()
            strip = self._render_one(line, width)
            self._strips[key] = strip
        return strip

    def _render_one(self, line: Content, width: int) -> Strip:
        style = self.visual_style
        if line.cell_length > width or self.text_selection is not None:
            # Cut with an ellipsis, or drawn selected: Textual's whole pipeline.
            strips = Visual.to_strips(self, line, width, 1, style)
            return strips[0] if strips else Strip.blank(width, style.rich_style)
        # A line that fits, as `Visual.to_strips` draws it (the offsets are what mouse selection
        # reads) at a fifth of its cost, which sets up wrapping and alignment for every line.
        segments, x = [], 0
        for text, text_style in line.render(style, end="", parse_style=self._get_style):
            segments.append(Segment(text, (style + text_style).rich_style_with_offset(x, 0)))
            x += len(text)
        return Strip(segments, line.cell_length)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme or focus change: every line looks different


_BLANK = Content("")


def _look(line: Content) -> tuple[object, ...]:
    """What a line shows: its text and its styles (Content's own equality compares text only)."""
    return (line.plain, tuple(line.spans))


class IncidentSummary(LinesView):
    """The incident ticket: what the runbook says to record, and who is on it."""

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        super().__init__(lines=8, id=id)  # the head and the fields every incident has
        self.desk = desk
        self._shown: tuple[int, int, int] | None = (0, 0, 0)

    def show_incident(self, incident: Incident | None) -> None:
        # The file's data version too: a past incident closed elsewhere changes "fired before".
        key = (incident.number, incident.version, self._data_version()) if incident else None
        if key == self._shown:
            return
        self._shown = key
        self.set_content(self._content_for(incident) if incident else Content(""))

    def _data_version(self) -> int:
        try:
            return self.desk.data_version()
        except StoreError:
            return -1

    def _content_for(self, inc: Incident) -> Content:
        policy = self.desk.policy
        sev = inc.severity
        sev_text = f"{sev.value} {policy.severities[sev].name}" if sev else "P? not determined"
        head = Content.assemble(
            (inc.id, "bold"),
            "  ",
            (sev_text, SEVERITY_STYLE.get(sev.value, "") if sev else "$text-warning reverse"),
            "  ",
            (inc.status.value, "bold"),
        )
        fields: list[tuple[str, str]] = [
            ("title", inc.title),
            ("services", ", ".join(inc.services) or "—"),
            ("assignee", inc.assignee or "— (o to assign)"),
            ("channel", inc.channel or "—"),
            ("started", format_local(inc.started_at, with_date=True)),
            ("impact", inc.impact or "—"),
            ("tenants", format_tenants(inc.tenants, inc.tenant_count, limit=6) or "— (e to record)"),
        ]
        held = [(role.name, inc.roles.get(role.id, "")) for role in policy.roles]
        if held:
            fields.append(("roles", " · ".join(f"{_short_role(name)} {who or '—'}" for name, who in held)))
        if inc.acknowledged_at:
            fields.append(("acked by", f"{inc.acknowledged_by} at {format_local(inc.acknowledged_at)}"))
        for name, label in (
            ("eta", "ETA"),
            ("root_cause", "root cause"),
            ("resolution", "resolution"),
            ("prevention", "prevention"),
            ("symptom", "runbook"),
            ("contributing_factors", "factors"),
        ):
            value = getattr(inc, name)
            if value:
                fields.append((label, value))
        if inc.source == "alert":
            # What an SRE looks for first: the labels, the graph, the runbook link, who silenced it.
            facts = alert_facts(self.desk.store, inc)
            fields.extend(fact_lines(facts) if facts is not None else [("source", "alert")])
        lines = [head]
        hint = suggest_for(policy, inc)
        if hint is not None and hint.severity is not sev and inc.is_open:
            lines.append(
                Content.styled(
                    f"◆ runbook suggests {hint.severity.value}: {hint.line()} — s to confirm", "$text-accent"
                )
            )
        for label, value in fields:
            lines.append(Content.assemble((f"{label:<11}", "$foreground-muted"), value))
        lines.extend(self._fired_before(inc))
        return Content("\n").join(lines)

    def _fired_before(self, inc: Incident) -> list[Content]:
        try:
            past = fired_before(self.desk.store, inc)
        except StoreError:
            return []
        if past is None:
            return []
        if not past.count:
            return [
                Content.styled("fired before: never — the first time the desk has seen this alert", "$foreground-muted")
            ]
        last = past.last
        same = f", {past.same_alert_count} the very same alert" if past.same_alert_count else ""
        head = f"fired before: {past.count} time{'s' if past.count != 1 else ''}{same}"
        if last is not None:
            head += f", last {format_local(last.when, with_date=True)} ({last.incident.id})"
        lines = [Content.styled(head, "$text-warning bold")]
        for p in past.fixes():
            fix = p.incident
            lines.append(
                Content.assemble(
                    (f"  {fix.id:<8}", "$foreground-muted"),
                    ("cause ", "$foreground-muted"),
                    fix.root_cause or "?",
                    (" · fix ", "$foreground-muted"),
                    fix.resolution or "?",
                )
            )
        if not past.fixes():
            lines.append(Content.styled("  none of them recorded a root cause or resolution", "$foreground-muted"))
        return lines


class ClockList(LinesView):
    """Every clock of the selected incident, counting down (or up, once overdue), and who to call."""

    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        # The escalation lines, then one per clock: the runbook's five and one per escalation tier.
        super().__init__(lines=2 + 5 + max(0, len(desk.policy.escalation) - 1), id=id)
        self.desk = desk
        self.incident: Incident | None = None
        self._behind = False  # ticks were skipped while hidden
        self._paging: PagingStatus | Literal[False] | None = None  # the top line's, when the desk pages

    def on_mount(self) -> None:
        self.watch(self.app, "now", self._tick, init=False)

    def _tick(self, now: datetime) -> None:
        if self.incident is None:
            return
        if self.is_on_screen:
            self.set_content(self._clocks(self.incident, now))
        else:  # another tab is open, or the board is maximised: no one to count down for
            self._behind = True

    def on_show(self) -> None:
        if self._behind and self.incident is not None:
            self._behind = False
            self.set_content(self._clocks(self.incident, self.app.now))

    def show_incident(self, incident: Incident | None) -> None:
        self.incident = incident
        self.set_content(self._clocks(incident, self.app.now) if incident else Content(""))

    def _clocks(self, inc: Incident, now: datetime) -> Content:
        policy = self.desk.policy
        dl = compute(inc, policy, now)
        # Beside the ticket on a short, narrow screen: no due column, and each line fits 39 cells.
        compact = self.screen.has_class("-short") and self.screen.has_class("-narrow")
        lines: list[Content] = [self._escalation(inc, dl, now)]
        for d in dl.items:
            if d.key == "stakeholders" and (due := notify_due_if_major(inc, policy)) is not None:
                left = (due - now).total_seconds()
                text = f"{'if' if compact else 'due if'} {major_names(policy)}: " + (
                    f"{'' if compact else 'in '}{format_duration(left)}"
                    if left >= 0
                    else f"{format_duration(left)} past"
                )
                if compact:
                    lines.append(Content.assemble((f"{d.label:<21.21}", ""), " ", (text, "$text-warning")))
                    continue
                style = "$text-warning" if left < 0 or left < policy.stakeholders.total_seconds() * 0.2 else ""
                lines.append(
                    Content.assemble(
                        (f"{d.label:<22.22}", ""), " ", (_due(due, now), "$foreground-muted"), "  ", (text, style)
                    )
                )
                continue
            if d.state is State.NOT_APPLICABLE:
                continue
            if d.key.startswith("escalate:"):
                if d.state is State.MET:
                    text, style = "not needed", "$foreground-muted"
                elif d.state is State.BREACHED and d.due_at is not None:
                    text, style = f"reached {format_duration((now - d.due_at).total_seconds())} ago", "$text-warning"
                    if d.done_at is not None:
                        text, style = "reached", "$foreground-muted"
                else:
                    text, tone = countdown(d, now, policy.warn_fraction)
                    style = TONE_STYLE[tone]
                label = "→ " + d.label.removeprefix("Escalate to ")
            else:
                text, tone = countdown(d, now, policy.warn_fraction)
                style = TONE_STYLE[tone]
                label = d.label
            if compact:
                lines.append(
                    Content.assemble(
                        (f"{label:<21.21}", "$foreground-muted" if d.done_at else ""), " ", (text[:17], style)
                    )
                )
                continue
            lines.append(
                Content.assemble(
                    (f"{label:<22.22}", "$foreground-muted" if d.done_at else ""),
                    " ",
                    (_due(d.due_at, now), "$foreground-muted"),
                    "  ",
                    (text, style),
                )
            )
        return Content("\n").join(lines)

    def _holder(self, level: str) -> str:
        """Who holds `level` now, when the desk pages (the top line's PagingStatus knows)."""
        if self._paging is None:
            # Looked for once: a query walks every widget (the toasts of a storm too), on every key.
            # A desk that does not page has none, and its first frame does not import the module.
            found = next(iter(self.screen.query("#paging-status")), None)
            if found is not None:
                from .paging_status import PagingStatus

                found = found if isinstance(found, PagingStatus) else None
            self._paging = found if found is not None else False
        return self._paging.contact(level) if self._paging else ""

    def _escalation(self, inc: Incident, dl, now: datetime) -> Content:
        esc = dl.escalation
        if not inc.is_open or inc.mitigated_at is not None:
            return Content.styled(f"escalation stopped at {esc.tier.level} ({inc.status.value})", "$foreground-muted")
        contact = self._holder(esc.tier.level) or esc.tier.contact
        if esc.index == 0:
            line = Content.assemble(
                ("on call: ", "$foreground-muted"),
                (esc.tier.level, "bold"),
                (f" — {contact}" if contact else "", ""),
            )
            later = ""
        else:
            line = Content.styled(f"escalate: call {contact or esc.tier.level} now", "$text-error bold")
            later = f"L{esc.index + 1} {esc.tier.level}"
        if esc.next_tier is not None and esc.next_at is not None:
            left = format_duration((esc.next_at - now).total_seconds())
            later += (" · " if later else "") + f"then {esc.next_tier.level} in {left}"
        if later:
            line += Content.styled(f"\n  {later}", "$foreground-muted")
        return line


class IncidentDetail(Container):
    """The detail pane: tabs (id `detail-tabs`) whose panes follow the selection."""

    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    IncidentDetail { height: 1fr; }
    IncidentDetail #clocks-body { height: 1fr; }
    IncidentDetail .empty-hint { color: $foreground-muted; padding: 1 2; }
    """

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.desk = desk
        self.incident: Incident | None = None
        self._fresh: dict[str, tuple[int, int] | None] = {}  # pane id → what it last showed

    def compose(self) -> ComposeResult:
        yield Static(
            "No incident selected. Pick one on the board (↑/↓), or press d to declare one.",
            classes="empty-hint",
        )
        clocks = VerticalScroll(
            ClockList(self.desk, id="clock-list"), IncidentSummary(self.desk, id="incident-summary"), id="clocks-body"
        )
        yield Tabbed(
            Pane("Clocks", clocks, id="tab-clocks"),
            Pane("Timeline", id="tab-timeline"),
            Pane("Runbook", id="tab-runbook"),
            Pane("Process", id="tab-process"),
            id="detail-tabs",
        )

    def _build(self, pane_id: str | None) -> Widget | None:
        """The content of a tab other than Clocks, made the first time it is opened."""
        if pane_id == "tab-timeline":
            from .timeline import TimelineView

            return TimelineView(self.desk, id="timeline")
        if pane_id == "tab-runbook":
            from .runbook_pane import RunbookPane

            return RunbookPane(self.desk, self.app.runbooks, id="runbook-pane")
        if pane_id == "tab-process":
            from .runbook_pane import ProcessPane

            return ProcessPane(self.desk, self.app.runbooks, id="process-pane")
        return None

    def on_mount(self) -> None:
        self._set_empty(self.incident is None)

    def _set_empty(self, empty: bool) -> None:
        tabs = self.query_one("#detail-tabs")
        if tabs.display == empty:  # the tabs show exactly when there is an incident
            tabs.display = not empty
            self.query_one(".empty-hint").display = empty

    def show(self, incident: Incident | None) -> None:
        """Show `incident` (or the empty hint); only the pane on screen does its work now."""
        self.incident = incident
        self._set_empty(incident is None)
        self._fresh.clear()
        self._update_active()

    async def on_tabbed_tab_activated(self, event: Tabbed.TabActivated) -> None:
        pane = event.pane
        if not pane.children and (content := self._build(pane.id)) is not None:
            await pane.mount(content)
            # Keys that arrived while it was being built (another tab, another incident) may have
            # marked it shown before it could show anything.
            self._fresh.pop(pane.id or "", None)
        self._update_active()
        if self.screen.focused is None:  # the focus was in the tab just hidden: follow into this one
            self.focus_pane()

    def _update_active(self) -> None:
        pane = self.query_one("#detail-tabs", Tabbed).active_pane
        if pane is None or pane.id is None:
            return
        inc = self.incident
        key = (inc.number, inc.version) if inc else None
        if pane.id in self._fresh and self._fresh[pane.id] == key:
            return
        views = [w for w in pane.query("*") if hasattr(w, "show_incident")]
        if not all(w.is_mounted for w in views):
            return  # still being built: its TabActivated handler shows it once it is
        self._fresh[pane.id] = key
        for view in views:
            view.show_incident(inc)

    def cycle_tab(self, step: int) -> None:
        self.query_one("#detail-tabs", Tabbed).step(step)

    def focus_pane(self) -> None:
        """Focus the first focusable widget of the open tab (its tab bar if it has none)."""
        tabs = self.query_one("#detail-tabs", Tabbed)
        pane = tabs.active_pane
        targets = [w for w in pane.query("*") if w.focusable] if pane is not None else []
        (targets[0] if targets else tabs.query_one(TabStrip)).focus()


def _short_role(name: str) -> str:
    """'Incident commander' → 'IC', 'Scribe' → 'Scribe': the ticket's one line holds every role."""
    words = name.split()
    return "".join(w[0].upper() for w in words) if len(words) > 1 else name


def _due(due: datetime | None, now: datetime) -> str:
    """'16:45' today; '11-29 16:45' on another day (a review two days out is not due at 16:45 today)."""
    if due is None:
        return "".ljust(11)
    local, today = due.astimezone(), now.astimezone()
    # One width either way, so the countdowns beside them stay in a column.
    return (local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%m-%d %H:%M")).ljust(11)
