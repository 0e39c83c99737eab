"""The incident view's Runbook and Process panes: what to do, ticked off onto the timeline.

Each step is a checkbox in an `OptionList` whose prompts are Rich renderables (the step's Markdown
beside its box), so a long runbook scrolls and only the lines on screen are painted. The panes are
told about the selected incident through `show_incident()` — only while their tab is visible, so a
hidden pane costs nothing when the selection moves — and re-render only what changed: a step whose
box or note differs, or everything when the runbook itself changed. A step's Markdown is rendered
once per width, and a prompt is re-used for as long as its box and note read the same.

Ticking a step writes `desk.check_step(...)`: one timeline event that says who, when, which step
and which runbook version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...checklist import Checklist, Context, Item, Phase, StepState, build_checklist, done_by_action
from ...desk import Desk
from ...model import Incident
from ...runbooks import PROCESS_ID, Runbook, RunbookLibrary, RunbookMatch, Step
from .runbook_search import RunbookSearch

if TYPE_CHECKING:
    from ..app import OncallApp


def _rich_markdown(text: str) -> RenderableType:
    # rich.markdown pulls in markdown-it (~40 ms): paid when the first runbook is shown, not before
    # the board's first frame.
    from rich.markdown import Markdown

    return Markdown(text)


GLYPH = {
    StepState.DONE: "[✓]",
    StepState.CHECKED: "[x]",
    StepState.OPEN: "[ ]",
    StepState.NOT_NEEDED: "[-]",
}


class StepList(OptionList):
    """Steps as checkboxes; the cursor stops only on steps, never on headings."""

    DEFAULT_CSS = """
    StepList { height: 1fr; max-height: 100%; border: none; padding: 0; background: transparent; }
    StepList:focus { border: none; background-tint: $foreground 3%; }
    StepList > .option-list--option-disabled { color: $foreground; }
    StepList > .step-list--done { color: $text-success; }
    StepList > .step-list--open { color: $foreground; }
    StepList > .step-list--muted { color: $text-muted; }
    StepList > .step-list--phase { color: $text-muted; text-style: bold; }
    StepList > .step-list--current { color: $text-accent; text-style: bold; }
    """
    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {
        "step-list--done",
        "step-list--open",
        "step-list--muted",
        "step-list--phase",
        "step-list--current",
    }
    BINDINGS = [
        Binding(
            "space",
            "tick_step",
            "Tick step",
            tooltip="Tick or untick the step (written to the timeline)",
            id="runbook.tick",
        ),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    class Toggled(Message):
        """The engineer asked to flip a step's box."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    style_generation = 0  # bumped when the theme changes, so cached prompts are built again

    def notify_style_update(self) -> None:
        self.style_generation += 1
        super().notify_style_update()

    def style_of(self, name: str) -> Style:
        # The colour alone, blended against the background (a partial style would lose the
        # transparency of $text-muted), so it reads on the cursor row as well as off it.
        full = self.get_component_rich_style(f"step-list--{name}")
        return Style(color=full.color, bold=full.bold, italic=full.italic)

    def action_tick_step(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id and option.id.startswith("step-"):
            self.post_message(self.Toggled(int(option.id.removeprefix("step-"))))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # Enter and a click tick the step too: the box is the whole line.
        event.stop()
        self.action_tick_step()

    def select_step(self, number: int) -> None:
        try:
            self.highlighted = self.get_option_index(f"step-{number}")
        except Exception:  # not on the list (a heading, or the runbook changed)
            pass

    @property
    def highlighted_step(self) -> int | None:
        option = self.highlighted_option
        if option is None or not option.id or not option.id.startswith("step-"):
            return None
        return int(option.id.removeprefix("step-"))


class _StepRenderer:
    """Step prompts, built once per (step, box, note) and re-used.

    `OptionList` measures every option again whenever one prompt changes, by rendering it; a prompt
    that is the same object as before answers from its own cache instead, so switching incidents
    costs the steps whose box or note differ, not the whole runbook. The step's Markdown, the costly
    part, is rendered once per width whatever its box says.
    """

    def __init__(self) -> None:
        self._prompts: dict[tuple, _Remembered] = {}
        self._bodies: dict[Step, _Remembered] = {}

    def prompt(self, steps: StepList, step: Step, state: StepState, note: str = "") -> _Remembered:
        key = (step, state, note, steps.style_generation)
        found = self._prompts.get(key)
        if found is None:
            if len(self._prompts) > 2048:
                self._prompts.clear()
            body = self._bodies.get(step)
            if body is None:
                body = self._bodies[step] = _Remembered(_markdown(step.text))
            done = state in (StepState.DONE, StepState.CHECKED)
            box = steps.style_of("done" if done else "muted" if state is StepState.NOT_NEEDED else "open")
            found = self._prompts[key] = _Remembered(
                _StepLine(
                    Segment(GLYPH[state], box),
                    Segment(f"{step.ordinal:>2}.", steps.style_of("muted")),
                    body,
                    Text(note, style=steps.style_of("muted"), justify="right"),
                )
            )
        return found


class _StepLine:
    """`[x]  3. text of the step …            what the desk saw`, the text wrapping under itself.

    Laid out by hand rather than by a Rich table: a table measures and renders every cell each
    time, and this runs for every step whose box or note changed on each incident switch.
    """

    GUTTER = 8  # "[x]" + space + " 3." + space

    def __init__(self, box: Segment, number: Segment, body: RenderableType, note: Text) -> None:
        self.box, self.number, self.body, self.note = box, number, body, note

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        note_width = min(self.note.cell_len, 30, max(0, width - self.GUTTER - 20)) if self.note else 0
        body_width = max(1, width - self.GUTTER - (note_width + 1 if note_width else 0))
        body = console.render_lines(self.body, options.update_width(body_width), pad=True)
        note = console.render_lines(self.note, options.update_width(note_width), pad=True) if note_width else []
        prefix = [self.box, Segment(" "), self.number, Segment(" ")]
        for i in range(max(len(body), len(note))):
            yield from prefix if i == 0 else [Segment(" " * self.GUTTER)]
            yield from body[i] if i < len(body) else [Segment(" " * body_width)]
            if note_width:
                yield Segment(" ")
                yield from note[i] if i < len(note) else [Segment(" " * note_width)]
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.GUTTER + 1, options.max_width)


class _Remembered:
    """A renderable that keeps its rendered lines per width (its styles are fixed when built; the
    list's highlight is applied on top by the list itself)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._lines: dict[int, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self._lines.get(options.max_width)
        if lines is None:
            lines = self._lines[options.max_width] = console.render_lines(self.renderable, options, pad=False)
        for line in lines:
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def _replace_changed(steps: StepList, option_id: str, prompt: RenderableType) -> None:
    if steps.get_option(option_id).prompt is not prompt:
        steps.replace_option_prompt(option_id, prompt)


def _markdown(text: str) -> RenderableType:
    """A step's Markdown, without the blank lines Rich puts around a sub-list or code block."""
    first, _, rest = text.partition("\n")
    if not rest.strip():
        return _rich_markdown(first)
    return Group(_rich_markdown(first), _Trimmed(_rich_markdown(rest)))


class _Trimmed:
    """A renderable without its leading and trailing blank lines: compact steps fit 80x24."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        blank = [not "".join(seg.text for seg in line).strip() for line in lines]
        start = blank.index(False) if False in blank else len(lines)
        end = len(lines) - blank[::-1].index(False) if False in blank else start
        for line in lines[start:end]:
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def _notify_failure(widget: Widget, fn: Callable[[], Incident]) -> Incident | None:
    """Run one desk action; a refusal or a locked/damaged file becomes a message, not a crash."""
    return cast("OncallApp", widget.app).attempt(fn)


def _after_write(widget: Widget, incident: Incident) -> None:
    cast("OncallApp", widget.app).refresh_incidents()


# --- the Runbook pane -----------------------------------------------------------------------------


class RunbookPane(Vertical):
    """The runbook for the selected incident: symptoms, possible causes and its steps to tick."""

    DEFAULT_CSS = """
    RunbookPane { height: 1fr; padding: 0 1; }
    RunbookPane #runbook-head { height: auto; margin-bottom: 1; }
    RunbookPane .runbook-empty { color: $text-muted; }
    """

    def __init__(self, desk: Desk, library: RunbookLibrary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.desk = desk
        self.library = library
        self.incident: Incident | None = None
        self.found: RunbookMatch | None = None
        self.checked: set[int] = set()
        self._shown: tuple | None = None
        self._runbook: Runbook | None = None  # the runbook whose steps are on the list
        self._prompts = _StepRenderer()
        self._abouts: dict[tuple[int, int], tuple[Runbook, RenderableType | None]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="runbook-head")
        yield StepList(id="runbook-steps")

    @property
    def runbook(self) -> Runbook | None:
        return self.found.runbook if self.found else None

    def show_incident(self, incident: Incident | None) -> None:
        switched = _take(self, incident)
        if switched is None:
            return
        self.found = self.library.match(incident) if incident else None
        rb = self.runbook
        self.checked = self.desk.checked_steps(incident.number, rb.id) if incident and rb else set()
        self._paint(switched)

    def _paint(self, switched: bool) -> None:
        head = self.query_one("#runbook-head", Static)
        steps = self.query_one(StepList)
        rb = self.runbook
        head.update(self._head())
        steps.display = rb is not None
        if rb is None:
            self._runbook = None
            steps.clear_options()
            return
        if rb is not self._runbook:
            self._runbook = rb
            options: list[Option] = []
            about = self._about(rb)
            if about is not None:
                options.append(Option(about, id="about", disabled=True))
            options += [Option(self._prompt(s), id=f"step-{s.number}") for s in rb.steps]
            steps.set_options(options)
            switched = True
        else:
            for s in rb.steps:
                _replace_changed(steps, f"step-{s.number}", self._prompt(s))
        if switched:
            # The cursor starts on the first step still to do: what the engineer needs next.
            todo = next((s.number for s in rb.steps if s.number not in self.checked), rb.steps[0].number)
            steps.scroll_home(animate=False, immediate=True)
            steps.select_step(todo)

    def _prompt(self, step: Step) -> RenderableType:
        state = StepState.CHECKED if step.number in self.checked else StepState.OPEN
        return self._prompts.prompt(self.query_one(StepList), step, state)

    def _about(self, rb: Runbook) -> RenderableType | None:
        steps = self.query_one(StepList)
        key = (id(rb), steps.style_generation)
        cached = self._abouts.get(key)
        if cached is None or cached[0] is not rb:
            cached = self._abouts[key] = (rb, self._build_about(rb))
        return cached[1]

    def _build_about(self, rb: Runbook) -> RenderableType | None:
        if not rb.symptoms and not rb.causes:
            return _Remembered(_rich_markdown(rb.summary)) if rb.summary else None
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=15, no_wrap=True)
        grid.add_column(width=1)
        grid.add_column(ratio=1)
        steps = self.query_one(StepList)
        label, muted = steps.style_of("phase"), steps.style_of("muted")
        for name, items in (("Symptoms", rb.symptoms), ("Possible causes", rb.causes)):
            for i, item in enumerate(items):
                grid.add_row(
                    Text(name if i == 0 else "", style=label), Text("•", style=muted), _Trimmed(_rich_markdown(item))
                )
        return _Remembered(Group(grid, Text("")))

    def _head(self) -> Content:
        inc, found = self.incident, self.found
        if inc is None or found is None:
            return Content.styled("No incident selected.", "$text-muted")
        lines: list[Content] = []
        if found.missing:
            lines.append(
                Content.styled(f"{inc.id} names runbook “{found.missing}”, which is not loaded.", "$text-warning")
            )
        rb = found.runbook
        if rb is None:
            lines.append(
                Content.assemble(
                    (f"No runbook matches {inc.id}. ", "bold"),
                    ("Press ", "$text-muted"),
                    ("r", "bold"),
                    (" to choose one from the library.", "$text-muted"),
                )
            )
            return Content("\n").join(lines)
        done = len(self.checked & {s.number for s in rb.steps})
        title = Content.assemble(
            (rb.title, "bold"),
            (f"  v{rb.version}", "$text-muted"),
            "  ",
            (f"{done}/{rb.step_count} done", "$text-success" if done == rb.step_count else ""),
        )
        if found.chosen:
            how = Content.assemble(("runbook for ", "$text-muted"), inc.id, ("  ·  r: choose another", "$text-muted"))
        else:
            how = Content.assemble(
                ("suggested", "$text-warning bold"),
                (f" by {'; '.join(found.reasons)}", "$text-warning"),
                ("\ntick a step to adopt it  ·  r: choose another", "$text-muted"),
            )
        return Content("\n").join([*lines, title, how])

    # --- actions ---

    @on(StepList.Toggled)
    def _toggled(self, event: StepList.Toggled) -> None:
        event.stop()
        self.toggle(event.step)

    def toggle(self, number: int) -> None:
        inc, rb, found = self.incident, self.runbook, self.found
        if inc is None or rb is None or found is None:
            return
        step = rb.step(number)
        checked = number not in self.checked

        def write() -> Incident:
            if not found.chosen:
                # Acting on a suggestion makes it the incident's runbook, so its progress stays put.
                self.desk.edit(inc.number, "symptom", rb.id, expected=inc.symptom)
            return self.desk.check_step(
                inc.number, runbook=rb.id, version=rb.version, step=number, text=step.text, checked=checked
            )

        updated = _notify_failure(self, write)
        if updated is not None:
            self.show_incident(updated)
            _after_write(self, updated)

    def action_choose(self) -> None:
        if self.incident is not None:
            choose_runbook(self, self.desk, self.library, self.incident)


def choose_runbook(widget, desk: Desk, library: RunbookLibrary, incident: Incident) -> None:
    """Ask which runbook applies to `incident` and record it as its symptom (a timeline event)."""

    def chosen(runbook_id: str | None) -> None:
        if not runbook_id or runbook_id == incident.symptom:
            return
        updated = _notify_failure(
            widget, partial(desk.edit, incident.number, "symptom", runbook_id, expected=incident.symptom)
        )
        if updated is not None:
            if isinstance(widget, RunbookPane):
                widget.show_incident(updated)
            runbook = library.get(runbook_id)
            widget.notify(f"{incident.id} follows “{runbook.title if runbook else runbook_id}” now", timeout=3)
            _after_write(widget, updated)

    widget.app.push_screen(RunbookChooser(library, incident, library.match(incident)), chosen)


class RunbookChooser(ModalScreen[str | None]):
    """Pick the runbook for an incident: suggestions first, then every runbook; type to search."""

    DEFAULT_CSS = """
    RunbookChooser { align: center middle; }
    RunbookChooser > Vertical {
        width: 90%; max-width: 100; height: 80%; max-height: 30;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    RunbookChooser #chooser-title { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, library: RunbookLibrary, incident: Incident, found: RunbookMatch | None) -> None:
        super().__init__()
        self.library = library
        self.incident = incident
        self.found = found

    def compose(self) -> ComposeResult:
        ranked = [s.runbook.id for s in self.found.suggestions] if self.found else []
        reasons = {s.runbook.id: "; ".join(s.reasons) for s in self.found.suggestions} if self.found else {}
        with Vertical():
            yield Static(
                Content.assemble(
                    (f"Runbook for {self.incident.id}: {self.incident.title}", "bold"),
                    ("\ntype to search · ↑↓ to pick · enter to choose · escape to cancel", "$text-muted"),
                ),
                id="chooser-title",
            )
            yield RunbookSearch(
                self.library,
                first=ranked,
                notes=reasons,
                current=self.incident.symptom,
                include_process=False,
                id="chooser-search",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(RunbookSearch.Chosen)
    def _chosen(self, event: RunbookSearch.Chosen) -> None:
        self.dismiss(event.runbook_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the Process pane -----------------------------------------------------------------------------


class ProcessPane(Vertical):
    """The response process for the selected incident: five phases, the current one marked,
    the steps the desk knows are done already ticked, the rest to tick by hand."""

    DEFAULT_CSS = """
    ProcessPane { height: 1fr; padding: 0 1; }
    ProcessPane #process-head { height: auto; margin-bottom: 1; }
    """

    def __init__(self, desk: Desk, library: RunbookLibrary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.desk = desk
        self.library = library
        self.incident: Incident | None = None
        self.checklist: Checklist | None = None
        self._shown: tuple | None = None
        self._runbook: Runbook | None = None  # the process whose steps are on the list
        self._prompts = _StepRenderer()
        self._headings: dict[tuple, RenderableType] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="process-head")
        yield StepList(id="process-steps")

    def show_incident(self, incident: Incident | None) -> None:
        switched = _take(self, incident)
        if switched is None:
            return
        process = self.library.process
        if incident is None or process is None:
            self.checklist = None
        else:
            checked = self.desk.checked_steps(incident.number, PROCESS_ID)
            events, items = self.desk.context_counts(incident.number)
            context = Context(now=self.desk.now(), events=events, action_items=items)
            self.checklist = build_checklist(process, incident, self.desk.policy, checked, context)
        self._paint(switched)

    def _paint(self, switched: bool) -> None:
        head = self.query_one("#process-head", Static)
        steps = self.query_one(StepList)
        checklist = self.checklist
        steps.display = checklist is not None
        if checklist is None:
            message = (
                "No incident selected."
                if self.incident is None
                else (
                    "The process runbook (id “process”) is not loaded; see the runbook library (warnings at the bottom)."
                )
            )
            head.update(Content.styled(message, "$text-muted"))
            steps.clear_options()
            self._runbook = None
            return
        head.update(self._head(checklist))
        current = checklist.current
        if checklist.runbook is not self._runbook:
            self._runbook = checklist.runbook
            steps.set_options(list(self._options(steps, checklist)))
            switched = True
        else:
            # The same process: swap only the headings and steps that read differently.
            for index, phase in enumerate(checklist.phases):
                _replace_changed(steps, f"phase-{index}", self._heading(steps, phase))
                for item in phase.items:
                    _replace_changed(steps, f"step-{item.step.number}", self._prompt(steps, item))
        if switched:
            # Show the current phase from its heading, the cursor on its first step still to do.
            target = current or checklist.phases[0]
            todo = next((i for i in target.items if not i.done and i.state is not StepState.NOT_NEEDED), None)
            heading = steps.get_option_index(f"phase-{checklist.phases.index(target)}")
            show = partial(_show_phase, steps, heading, todo.step.number if todo else None)
            # In the same frame when the list is laid out already; after the first layout otherwise.
            show() if steps.size.height else steps.call_after_refresh(show)

    def _options(self, steps: StepList, checklist: Checklist) -> Iterable[Option]:
        for index, phase in enumerate(checklist.phases):
            yield Option(self._heading(steps, phase), id=f"phase-{index}", disabled=True)
            for item in phase.items:
                yield Option(self._prompt(steps, item), id=f"step-{item.step.number}")

    def _heading(self, steps: StepList, phase: Phase) -> RenderableType:
        key = (phase.number, phase.title, phase.intro, phase.current, phase.applies, phase.why, steps.style_generation)
        found = self._headings.get(key)
        if found is None:
            style = steps.style_of("current" if phase.current else "phase")
            heading = Text(f"{phase.number}. {phase.title}" if phase.number else phase.title, style=style)
            if phase.current:
                heading.append("  ◀ now", style=style)
            if not phase.applies:
                heading.append(f"  ({phase.why})", style=steps.style_of("muted"))
            parts: list[RenderableType] = [heading]
            if phase.intro:
                parts.append(Text(phase.intro, style=steps.style_of("muted")))
            found = self._headings[key] = _Remembered(Group(*parts))
        return found

    def _prompt(self, steps: StepList, item: Item) -> RenderableType:
        return self._prompts.prompt(steps, item.step, item.state, item.why)

    def _head(self, checklist: Checklist) -> Content:
        current = checklist.current
        status = self.incident.status.value if self.incident is not None else ""
        where = (
            Content.assemble(
                ("Phase ", "$text-muted"), (f"{current.number} of 5: {current.title}", "bold $text-accent")
            )
            if current
            else Content.styled(f"{status}: every phase is behind it", "bold")
        )
        return Content.assemble(
            where,
            "  ",
            (f"{checklist.done}/{checklist.needed} done", "$text-muted"),
            ("\n[✓] the desk saw it done  [x] ticked by hand  [-] not needed", "$text-muted"),
        )

    @on(StepList.Toggled)
    def _toggled(self, event: StepList.Toggled) -> None:
        event.stop()
        self.toggle(event.step)

    def toggle(self, number: int) -> None:
        inc, checklist = self.incident, self.checklist
        if inc is None or checklist is None:
            return
        item = next(i for i in checklist.items if i.step.number == number)
        if item.by_desk:
            self.notify(f"The desk ticked this itself: {item.why}.", title=item.step.headline)
            return
        how = done_by_action(item.step.desk)
        if how is not None and item.state is not StepState.CHECKED:
            # A tick here would claim the incident was acknowledged (or notified…) when the record,
            # and every clock, says it was not: the step is done by doing it.
            self.notify(f"The desk ticks this when it happens: {how}.", title=item.step.headline)
            return
        checked = item.state is not StepState.CHECKED
        rb = checklist.runbook
        phase = next(p for p in checklist.phases if item in p.items)
        updated = _notify_failure(
            self,
            partial(
                self.desk.check_step,
                inc.number,
                runbook=PROCESS_ID,
                version=rb.version,
                step=number,
                text=item.step.text,
                checked=checked,
                # The timeline numbers it as this list does: "Investigation, step 5", not "step 14".
                section=phase.title,
                ordinal=item.step.ordinal,
            ),
        )
        if updated is not None:
            self.show_incident(updated)
            _after_write(self, updated)


def _take(pane: RunbookPane | ProcessPane, incident: Incident | None) -> bool | None:
    """Make `incident` the pane's: None when it already shows this very version (nothing to do),
    else whether it is another incident than before (which resets the cursor)."""
    key = (incident.number, incident.version, pane.library.generation) if incident else None
    if key == pane._shown:
        return None
    switched = incident is None or pane.incident is None or incident.number != pane.incident.number
    pane._shown = key
    pane.incident = incident
    return switched


def _show_phase(steps: StepList, heading: int, todo: int | None) -> None:
    steps.highlighted = heading
    steps.scroll_to_highlight(top=True)
    if todo is not None:
        steps.select_step(todo)
