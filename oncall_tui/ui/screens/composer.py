"""The composer: one incident's status message, from template to chat in a key.

The form holds this message's field values, pre-filled from the incident; the message pane is a live
preview until the engineer edits the text by hand, after which it is theirs (per template) until
ctrl+r rebuilds it. Sending — copying or posting — writes the message to the timeline, which is what
meets the notify-stakeholders deadline and sets the next-update clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from textual import getters, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Select, Static, TextArea
from textual.worker import Worker

from ...clipboard import CopyResult, copy_text
from ...config import DeskOptions, read_config
from ...deadlines import State, kinds_met_by, major_names, notify_due_if_major
from ...desk import Desk
from ...errors import DeskError
from ...model import Incident
from ...paths import data_dir
from ...policy import PolicyError
from ...store import Locked
from ...templates import (
    KNOWN_FIELDS,
    FieldSpec,
    Message,
    MessageTemplate,
    TemplateLibrary,
    TemplateProblem,
    compose,
    format_when,
    prefill,
    suggest_template,
    uses,
)
from ...webhook import post_message, webhook_settings
from ..widgets.footer import DeskFooter

if TYPE_CHECKING:
    from ..app import OncallApp

FIRST_TRY_MS = 150  # as the app's: how long a write waits for the lock on the event loop

PREVIEW_DELAY = 0.15  # seconds of quiet typing before the preview re-renders


@dataclass(frozen=True, slots=True)
class Draft:
    """What the engineer had written for one incident when the composer closed unsent."""

    template: str
    overrides: dict[str, str]
    hand_text: dict[str, str]  # per template
    saved_at: datetime


# Per app (so two desks in one test process do not share them) and per incident: closing the
# composer, on purpose or by a stray escape, loses nothing; the next `m` on that incident brings it back.
_DRAFTS: WeakKeyDictionary[App[Any], dict[int, Draft]] = WeakKeyDictionary()


def drafts_of(app: App[Any]) -> dict[int, Draft]:
    return _DRAFTS.setdefault(app, {})


class ComposerScreen(Screen[None]):
    """Compose, copy or post a status message for incident `number`."""

    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    ComposerScreen {
        layout: vertical;
    }
    ComposerScreen #composer-header {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-style: bold;
    }
    ComposerScreen #template-row {
        height: 1;
        margin: 1 1 0 1;
    }
    ComposerScreen #template-row Label {
        width: auto;
        padding-right: 1;
    }
    ComposerScreen #template-select {
        width: 24;
    }
    ComposerScreen #template-about {
        width: 1fr;
        padding-left: 2;
        color: $text-muted;
        text-overflow: ellipsis;
        text-wrap: nowrap;
    }
    ComposerScreen #deadline-hint {
        height: 1;
        margin: 0 1;
        color: $text-muted;
    }
    ComposerScreen #deadline-hint.-pending { color: $warning; }
    ComposerScreen #deadline-hint.-breached { color: $error; text-style: bold; }
    ComposerScreen #deadline-hint.-met { color: $success; }
    ComposerScreen #composer-body {
        height: 1fr;
        margin-top: 1;
    }
    ComposerScreen #fields {
        width: 2fr;
        min-width: 30;
        padding: 0 1;
    }
    ComposerScreen .field-row {
        height: auto;
        margin-bottom: 1;
    }
    ComposerScreen .field-label {
        width: 1fr;
        color: $text-muted;
    }
    ComposerScreen .field-row Input {
        width: 1fr;
    }
    ComposerScreen .field-row Input.-edited {
        text-style: italic;
    }
    ComposerScreen .field-row Input.-missing {
        background: $error 20%;
    }
    ComposerScreen #message-pane {
        width: 3fr;
        padding: 0 1;
    }
    ComposerScreen #message-state {
        height: 1;
        color: $text-muted;
    }
    ComposerScreen #message-state.-hand {
        color: $warning;
    }
    ComposerScreen #message-text {
        height: 1fr;
        min-height: 5;
    }
    ComposerScreen #problem {
        display: none;
        height: auto;
        max-height: 8;
        padding: 0 1;
        border-left: thick $error;
        background: $error 10%;
        color: $text;
    }
    ComposerScreen.-problem #problem {
        display: block;
    }
    ComposerScreen.-problem #message-text {
        display: none;
    }
    ComposerScreen.-problem.-hand-edited #message-text {
        display: block;
    }
    ComposerScreen #result {
        height: auto;
        max-height: 4;
        padding: 0 1;
        color: $text-muted;
    }
    ComposerScreen #result.-ok { color: $success; }
    ComposerScreen #result.-warn { color: $warning; }
    ComposerScreen #result.-error { color: $error; }
    """

    BINDINGS = [
        Binding(
            "ctrl+o",
            "copy",
            "Copy",
            tooltip="Copy the message (terminal + system clipboard) and record it",
            id="composer.copy",
        ),
        Binding(
            "ctrl+g", "post", "Post", tooltip="Post the message to the chat webhook and record it", id="composer.post"
        ),
        Binding("ctrl+t", "next_template", "Template", tooltip="Switch to the next template", id="composer.template"),
        Binding(
            "ctrl+s",
            "save_field",
            "Save field",
            tooltip="Save the focused field's value to the incident",
            id="composer.save_field",
        ),
        Binding(
            "ctrl+r",
            "rebuild",
            "Rebuild",
            tooltip="Rebuild the message from the fields, dropping hand edits",
            id="composer.rebuild",
        ),
        Binding("ctrl+l", "save_file", "To file", tooltip="Write the message to a file", id="composer.save_file"),
        Binding("escape", "close", "Close", id="composer.close"),
    ]

    def __init__(
        self,
        desk: Desk,
        number: int,
        *,
        options: DeskOptions | None = None,
        template: str | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.number = number
        self.options = options
        self.tz = tz
        self.library = TemplateLibrary(options.template_dirs if options else ())
        self.incident: Incident = desk.get(number)
        names = self.library.names()
        wanted = template or suggest_template(self.incident)
        self.template_name = wanted if wanted in names else (names[0] if names else wanted)
        self.message: Message | None = None
        self.template_kind = ""
        self.problem: TemplateProblem | None = None
        self._overrides: dict[str, str] = {}  # this message's own field values
        self._hand_text: dict[str, str] = {}  # per template: text the engineer edited by hand
        self._rendered_text = ""
        self._sent: set[tuple[str, str]] = set()  # ("copy" or "webhook", text) recorded: a re-copy is not a re-send
        self._preview_timer: Timer | None = None
        self._posting: Worker | None = None
        self._rendering = False
        self._render_generation = 0
        self._after_render: list[Callable[[], object]] = []
        self._unconfirmed_copy = ""  # copied to the terminal, not confirmed: a second ctrl+o records it
        self._posted_unrecorded = ""  # posted, but the timeline write failed: a retry records, not posts
        self._asked_for = template  # a template asked for by name wins over the draft's
        self._sent_overrides: dict[str, str] | None = None  # the field values of the last message sent
        self.restored: Draft | None = None

    # --- layout -----------------------------------------------------------------------------------

    def _restore_draft(self) -> None:
        draft = drafts_of(self.app).pop(self.number, None)
        if draft is None:
            return
        self.restored = draft
        self._overrides = dict(draft.overrides)
        self._hand_text = dict(draft.hand_text)
        if self._asked_for is None and draft.template in self.library.names():
            self.template_name = draft.template

    def _keep_draft(self) -> bool:
        """Keep what was written and not sent; True when there was something to keep."""
        sent = {t for _, t in self._sent}
        hand = {name: text for name, text in self._hand_text.items() if text not in sent}
        overrides = self._overrides if self._overrides != self._sent_overrides else {}
        if not hand and not overrides:
            drafts_of(self.app).pop(self.number, None)
            return False
        drafts_of(self.app)[self.number] = Draft(self.template_name, dict(overrides), hand, self.desk.now())
        return True

    def compose(self) -> ComposeResult:
        self._restore_draft()
        inc = self.incident
        sev = inc.severity.value if inc.severity else "P?"
        yield Static(
            f"Compose · {inc.id} · {sev} · {inc.status.value} · {inc.title}", id="composer-header", markup=False
        )
        with Horizontal(id="template-row"):
            yield Label("Template")
            select: Select[str] = Select(
                [(self._title_of(n), n) for n in self.library.names()],
                value=self.template_name if self.template_name in self.library.names() else Select.NULL,
                allow_blank=False,
                compact=True,
                id="template-select",
            )
            # Chosen with ctrl+t (or the mouse): focused, it would let the board's one-letter keys
            # act on the incident from behind this screen.
            select.can_focus = False
            yield select
            yield Static("", id="template-about", markup=False)
        yield Static("", id="deadline-hint", markup=False)
        with Horizontal(id="composer-body"):
            yield VerticalScroll(id="fields", can_focus=False)
            with Vertical(id="message-pane"):
                yield Static("", id="message-state", markup=False)
                yield Static("", id="problem", markup=False)
                text = TextArea("", id="message-text", soft_wrap=True, tab_behavior="focus")
                text.match_cursor_bracket = False  # "[P0]" is a tag, not code
                yield text
        yield Static("", id="result", markup=False)
        yield DeskFooter(compact=False)

    async def on_mount(self) -> None:
        await self._rebuild_form(focus=True)
        if self.restored is not None:
            when = format_when(self.restored.saved_at, self.desk.now(), self.tz)
            self._result(f"Your draft from {when} is back (fields and edits); ctrl+r rebuilds the message.", "ok")

    def _title_of(self, name: str) -> str:
        try:
            return self.library.get(name).title
        except TemplateProblem:
            return f"{name} (broken)"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys that only mean something in the current situation stay out of a crowded footer.
        if action == "rebuild":
            return self.template_name in self._hand_text
        if action == "save_field":
            return self._focused_spec() is not None
        return True

    # --- the form ---------------------------------------------------------------------------------

    def _template(self) -> MessageTemplate | None:
        try:
            return self.library.get(self.template_name)
        except TemplateProblem as problem:
            self._show_problem(problem)
            return None

    async def _rebuild_form(self, *, focus: bool = False) -> None:
        """Lay out the fields of the current template, then render the message."""
        template = self._template()
        self.template_kind = template.kind if template else ""
        self.query_one("#template-about", Static).update(template.description if template else "")
        box = self.query_one("#fields", VerticalScroll)
        await box.remove_children()
        if template is not None:
            values = self._values()
            await box.mount_all([self._field_row(spec, values.get(spec.name, "")) for spec in template.fields])
        hand = self._hand_text.get(self.template_name)
        self.set_class(hand is not None, "-hand-edited")
        if hand is not None:
            self._set_text(hand, by_hand=True)
        self._refresh_preview()
        if focus:
            self.call_after_refresh(self._focus_first_field)

    def _field_row(self, spec: FieldSpec, value: str) -> Vertical:
        hint = f" — {spec.hint}" if spec.hint else ""
        saved = "" if spec.incident_field else " (this message only)"
        # Not selected on focus: Tab then quick typing would replace a pre-filled value instead of adding to it.
        field_input = Input(
            _one_line(value), placeholder=spec.hint, compact=True, id=f"field-{spec.name}", select_on_focus=False
        )
        field_input.tooltip = f"{spec.label}{hint}{saved}"
        return Vertical(Label(spec.label, classes="field-label"), field_input, classes="field-row")

    def _focus_first_field(self) -> None:
        """The first field that needs a value; else the message, ready to edit or send."""
        empty = [i for i in self.query("#fields Input").results(Input) if not i.value.strip()]
        (empty[0] if empty else self.query_one("#message-text", TextArea)).focus()

    def _values(self) -> dict[str, str]:
        return {**prefill(self.incident, self.desk.policy, self.desk.now(), self.tz), **self._overrides}

    @on(Input.Changed, "#fields Input")
    def _field_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        known = prefill(self.incident, self.desk.policy, self.desk.now(), self.tz).get(name)
        if known is not None and _one_line(event.value) == _one_line(known):
            self._overrides.pop(name, None)
        else:
            self._overrides[name] = event.value
        event.input.set_class(name in self._overrides, "-edited")
        self._schedule_preview()

    @on(Select.Changed, "#template-select")
    async def _template_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.template_name:
            return
        self.template_name = str(event.value)
        # The old fields took the focus with them: with nothing focused, escape no longer closed
        # the composer and typing went nowhere.
        await self._rebuild_form(focus=True)

    def action_next_template(self) -> None:
        names = self.library.names()
        if not names:
            return
        index = names.index(self.template_name) if self.template_name in names else -1
        self.query_one("#template-select", Select).value = names[(index + 1) % len(names)]

    # --- the preview ------------------------------------------------------------------------------

    def _schedule_preview(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self._refresh_preview)

    def _when_rendered(self, then: Callable[[], object]) -> None:
        """Run `then` once the preview says what the fields say (at once, unless typing left a
        render pending or one is running): what is sent is what the fields say."""
        if self._preview_timer is not None or self._rendering:
            if self._preview_timer is not None:
                self._preview_timer.stop()
            self._refresh_preview(then=then)
        else:
            then()

    def _refresh_preview(self, *, then: Callable[[], object] | None = None) -> None:
        """Render the message in a thread: a user template runs for up to its deadline
        (templates.RENDER_SECONDS), and the board must not freeze meanwhile."""
        self._preview_timer = None
        if then is not None:
            self._after_render.append(then)
        try:
            self.incident = self.desk.get(self.number)
        except DeskError as exc:
            self._render_generation += 1
            self._rendered(self._render_generation, TemplateProblem(str(exc)))
            return
        now = self.desk.now()
        # What the template needs from the record is read here, on the desk's own thread (a Store is
        # not shared between threads); only the rendering goes to a thread.
        extra = None
        try:
            if uses(self.library.get(self.template_name), "handoff_brief"):
                from ...handoff import brief

                extra = {"handoff_brief": brief(self.desk, now, tz=self.tz)}
        except DeskError as exc:
            self._render_generation += 1
            self._rendered(
                self._render_generation, exc if isinstance(exc, TemplateProblem) else TemplateProblem(str(exc))
            )
            return
        self._render_generation += 1
        self._rendering = True
        self._render_in_thread(
            self._render_generation, self.template_name, self.incident, dict(self._overrides), now, extra
        )

    @work(thread=True, exit_on_error=False, group="composer-render")
    def _render_in_thread(
        self, generation: int, name: str, incident: Incident, overrides: dict[str, str], now: datetime, extra: Any
    ) -> None:
        try:
            result: Message | TemplateProblem = compose(
                self.library,
                name,
                incident,
                policy=self.desk.policy,
                now=now,
                tz=self.tz,
                overrides=overrides,
                extra=extra,
            )
        except TemplateProblem as problem:
            result = problem
        except Exception as exc:  # a template's bug is shown like any problem, never a crash
            result = TemplateProblem(f"{type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._rendered, generation, result)

    def _rendered(self, generation: int, result: Message | TemplateProblem) -> None:
        if generation != self._render_generation or not self.is_mounted:
            return  # typing moved on: a newer render is coming
        self._rendering = False
        if isinstance(result, TemplateProblem):
            self._show_problem(result)
        else:
            self.message, self.problem = result, None
            self.remove_class("-problem")
            self._mark_missing(())
            if self.template_name not in self._hand_text:
                self._set_text(result.text, by_hand=False)
        self._show_state()
        self._show_deadline()
        waiting, self._after_render = self._after_render, []
        for then in waiting:
            then()

    def _show_problem(self, problem: TemplateProblem) -> None:
        self.message, self.problem = None, problem
        where = ""
        if problem.file is not None:
            where = _short_path(problem.file) + (f":{problem.line}" if problem.line else "") + "\n"
        self.query_one("#problem", Static).update(f"⚠ {where}{problem.message}")
        self.add_class("-problem")
        self._mark_missing(problem.fields)

    def _mark_missing(self, names) -> None:
        for field_input in self.query("#fields Input").results(Input):
            field_input.set_class((field_input.id or "").removeprefix("field-") in names, "-missing")

    def _set_text(self, text: str, *, by_hand: bool) -> None:
        area = self.query_one("#message-text", TextArea)
        if not by_hand:
            self._rendered_text = text
        if area.text != text:
            area.load_text(text)
            area.move_cursor(area.document.end)  # adding a line at the end is the usual edit

    @on(TextArea.Changed, "#message-text")
    def _text_edited(self, event: TextArea.Changed) -> None:
        text = event.text_area.text
        if text == self._rendered_text and self.template_name not in self._hand_text:
            return
        if text == self._rendered_text:
            self._hand_text.pop(self.template_name, None)
        else:
            self._hand_text[self.template_name] = text
        self.set_class(self.template_name in self._hand_text, "-hand-edited")
        self._show_state()
        self.refresh_bindings()

    def _show_state(self) -> None:
        state = self.query_one("#message-state", Static)
        hand = self.template_name in self._hand_text
        state.set_class(hand, "-hand")
        if hand:
            state.update("Message (edited by hand; ctrl+r rebuilds it)")
        elif self.problem is not None:
            state.update("Message (cannot be built yet)")
        else:
            state.update("Message (live preview; editable)")

    def _show_deadline(self) -> None:
        hint = self.query_one("#deadline-hint", Static)
        met = kinds_met_by(self.template_kind)  # the first is the clock this message is for
        text, state = "", ""
        if met:
            now = self.desk.now()
            d = self.desk.deadlines(self.incident, now).get(met[0].key)
            state = d.state.value
            if d.state is State.MET and d.done_at is not None:
                text = f"{d.label}: met at {format_when(d.done_at, now, self.tz)}"
            elif d.state is State.PENDING and d.due_at is not None:
                text = f"{d.label}: due {format_when(d.due_at, now, self.tz)}"
            elif d.state is State.BREACHED and d.due_at is not None:
                text = f"{d.label}: OVERDUE since {format_when(d.due_at, now, self.tz)}"
            elif (
                met[0].key == "stakeholders"
                and (due := notify_due_if_major(self.incident, self.desk.policy)) is not None
            ):
                # P? may be a P0: the notice is not "not required" until the severity says so.
                names = major_names(self.desk.policy)
                text = f"{d.label}: due {format_when(due, now, self.tz)} if it is {names} (severity not determined)"
                state = "pending"
            elif met[0].done:  # a one-off deed with no clock: this incident does not need it
                text = f"{d.label}: not required for this severity"
        hint.update(text)
        for name in ("pending", "breached", "met"):
            hint.set_class(state == name, f"-{name}")

    # --- sending ----------------------------------------------------------------------------------

    def _sendable(self) -> tuple[str, Message] | None:
        if self.message is None:
            problem = self.problem.message if self.problem else "nothing to send"
            self._result(f"Not sent: {problem}", "error")
            return None
        text = self._hand_text.get(self.template_name, self.message.text).strip()
        if not text:
            self._result("Not sent: the message is empty", "error")
            return None
        return text, self.message

    def action_copy(self) -> None:
        self._when_rendered(self._copy_now)

    def _copy_now(self) -> None:
        sendable = self._sendable()
        if sendable is None:
            return
        text, message = sendable
        self.app.copy_to_clipboard(text)  # OSC 52: reaches the user's terminal over SSH and tmux
        self._copy_to_system(text, message)

    @work(thread=True, exclusive=True, exit_on_error=False, group="composer-copy")
    def _copy_to_system(self, text: str, message: Message) -> None:
        # pyperclip runs xclip/wl-copy/pbcopy as subprocesses: off the event loop.
        result = copy_text(text)
        self.app.call_from_thread(self._copied, text, message, result)

    def _copied(self, text: str, message: Message, result: CopyResult) -> None:
        if result.confirmed:
            recorded, effect = self._record(text, message, "clipboard")
            self._result(f"Copied to the clipboard. {effect}", "ok" if recorded else "warn")
            return
        # Only the terminal got it (OSC 52), and nothing says it arrived: it is not recorded as sent
        # (an Initial Alert would meet "notify stakeholders") until the engineer says it went out.
        if self._unconfirmed_copy == text:
            recorded, effect = self._record(text, message, "terminal (OSC 52), sent by hand")
            self._result(f"Recorded as sent by you. {effect}", "ok" if recorded else "warn")
            return
        self._unconfirmed_copy = text
        self._result(
            f"Copied to the terminal (OSC 52), not confirmed: {result.detail}. NOT recorded as sent: paste it into "
            "the channel, then press ctrl+o again to record it (or ctrl+l saves it to a file).",
            "warn",
        )

    def action_post(self) -> None:
        url, timeout = webhook_settings(self.options.section("chat") if self.options else {})
        if url is None:
            # Read config.toml again: a webhook added while the desk runs works without a restart.
            try:
                url, timeout = webhook_settings(read_config().get("chat") or {})
            except PolicyError as exc:
                self._result(f"Not posted: {exc}", "error")
                return
        if url is None:
            self._result(
                "No chat webhook configured: set webhook_url in the [chat] section of "
                "~/.config/oncall-tui/config.toml (read again on the next ctrl+g, no restart), or copy with ctrl+o.",
                "warn",
            )
            return
        self._when_rendered(lambda: self._post_now(url, timeout))

    def _post_now(self, url: str, timeout: float) -> None:
        sendable = self._sendable()
        if sendable is None:
            return
        text, message = sendable
        if self._posted_unrecorded == text:  # it is in the channel already: only the timeline is missing
            recorded, effect = self._record(text, message, "webhook")
            self._result(
                f"Already posted; {effect}" if recorded else f"Still not recorded: {effect}",
                "ok" if recorded else "warn",
            )
            if recorded:
                self._posted_unrecorded = ""
            return
        self._result("Posting to chat… (escape cancels)", "")
        self._posting = self._post(url, timeout, text, message)

    @work(exclusive=True, exit_on_error=False, group="composer-post")
    async def _post(self, url: str, timeout: float, text: str, message: Message) -> None:
        result = await post_message(url, text, timeout=timeout)
        if result.ok:
            recorded, effect = self._record(text, message, "webhook")
            posted = f"{result.summary[:1].upper()}{result.summary[1:]}"
            if recorded:
                self._result(f"{posted}. {effect}", "ok")
            else:
                self._posted_unrecorded = text
                self._result(
                    f"{posted}, but {effect} Press ctrl+p again to record it: it will not be posted twice.", "warn"
                )
            self.notify("Posted to chat.", title=message.template.title)
        else:
            self._result(f"Not posted: {result.summary}. Nothing was recorded; copy with ctrl+o instead.", "error")
            self.notify(result.summary, title="Chat webhook", severity="error")

    def _record(self, text: str, message: Message, via: str) -> tuple[bool, str]:
        """Write the sent message to the timeline: whether it is there, and what that did to the clocks."""
        route = "webhook" if via == "webhook" else "copy"  # a copy is counted once, however it was copied
        if (route, text) in self._sent:
            return True, "(Already on the timeline.)"
        try:
            # Briefly: a lock held by another process must not freeze the board behind this screen.
            with self.desk.store.waiting(FIRST_TRY_MS):
                after = self.desk.record_message(
                    self.number,
                    template=message.template.record_as,
                    text=text,
                    via=via,
                    next_update_at=message.next_update_at,
                )
        except Locked:
            return False, "it is NOT on the timeline yet: another process holds the desk file's lock."
        except DeskError as exc:
            return False, f"NOT recorded on the timeline: {exc}"
        self._sent.add((route, text))
        self._confirm_close = False
        self._sent_overrides = dict(self._overrides)
        if after.version == self.incident.version:  # the very message was recorded moments ago
            return True, "(Already on the timeline: the same message was sent a moment ago.)"
        self.incident = after
        self._desk_changed()
        self._show_deadline()
        now = self.desk.now()
        effect = f"On {after.id}'s timeline"
        deadlines = self.desk.deadlines(after, now)
        for kind in kinds_met_by(message.template.kind):
            d = deadlines.get(kind.key)
            if kind.done:  # a one-off deed: done now, in time or late
                if d.state is State.MET:
                    effect += f"; {kind.done} in time"
                elif d.state is State.BREACHED:
                    effect += f"; {kind.done}, late"
            elif d.due_at is not None:
                # A recurring clock restarted: the promised time if the message made one, else the
                # policy's cadence from now.
                effect += f"; {kind.label.lower()} due {format_when(d.due_at, now, self.tz)}"
        return True, effect + "."

    def _desk_changed(self) -> None:
        """Let the board behind repaint what was just written."""
        self.app.refresh_incidents()

    def _result(self, text: str, tone: str) -> None:
        result = self.query_one("#result", Static)
        result.update(text)
        for name in ("ok", "warn", "error"):
            result.set_class(tone == name, f"-{name}")

    # --- fields back to the incident, text to a file, closing -------------------------------------

    def _focused_spec(self) -> FieldSpec | None:
        """The focused field, when it is one the incident has (and so can be saved back)."""
        focused = self.focused
        if not isinstance(focused, Input) or focused.id is None or not focused.id.startswith("field-"):
            return None
        name = focused.id.removeprefix("field-")
        spec = KNOWN_FIELDS.get(name)
        return spec if spec is not None and spec.incident_field is not None else None

    def action_save_field(self) -> None:
        spec, focused = self._focused_spec(), self.focused
        field = spec.incident_field if spec is not None else None
        if spec is None or field is None or not isinstance(focused, Input):
            self._result("Only a field the incident has (impact, ETA, root cause…) can be saved to it.", "warn")
            return
        name = spec.name
        seen = getattr(self.incident, field)
        try:
            self.incident = self.desk.edit(self.number, field, focused.value, expected=seen)
        except DeskError as exc:
            self._result(f"Not saved: {exc}", "error")
            return
        self._overrides.pop(name, None)
        focused.remove_class("-edited")
        self._desk_changed()
        self._result(f"{spec.label} saved to {self.incident.id}.", "ok")
        self._refresh_preview()

    def action_rebuild(self) -> None:
        self._hand_text.pop(self.template_name, None)
        self.remove_class("-hand-edited")
        self._refresh_preview(then=self.refresh_bindings)  # the render puts the text back

    def action_save_file(self) -> None:
        self._when_rendered(self._save_file_now)

    def _save_file_now(self) -> None:
        text = self._hand_text.get(self.template_name) or (self.message.text if self.message else "")
        if not text.strip():
            self._result("Nothing to save: the message cannot be built yet.", "error")
            return
        stamp = self.desk.now().astimezone(self.tz).strftime("%Y%m%d-%H%M")
        default = Path.home() / f"{self.incident.id}-{self.template_name}-{stamp}.txt"

        def write(path: Path | None) -> None:
            if path is None:
                return
            try:
                path.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                self._result(f"Not saved to {path}: {exc.strerror or exc}", "error")
                return
            try:
                self.incident = self.desk.record_saved(
                    self.number, template=self.template_name, text=text, path=str(path)
                )
            except DeskError as exc:
                self._result(f"Saved to {path}, but NOT noted on the timeline: {exc}", "warn")
                return
            self._desk_changed()
            self._result(
                f"Saved to {path} and noted on the timeline. It counts as sent once you copy (ctrl+o) or post"
                " (ctrl+g) it.",
                "ok",
            )

        self.app.push_screen(SaveMessageScreen(default), write)

    def action_close(self) -> None:
        if self._posting is not None and self._posting.is_running:
            self._posting.cancel()
            self._result(
                "Posting cancelled. The chat server may have received it already: look in the channel before "
                "posting again. Nothing was recorded. Escape again closes.",
                "warn",
            )
            return
        if self._keep_draft():
            self.notify(f"Draft of {self.incident.id}'s message kept: m brings it back.", title="Composer", timeout=4)
        self.dismiss()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short_path(path: Path) -> str:
    """Shipped templates by their place in the package, the user's own from ~: short enough to
    read in a narrow pane, exact enough to open."""
    resolved = path.resolve()
    for base, shown in ((data_dir().parent, ""), (Path.home(), "~/")):
        if resolved.is_relative_to(base := base.resolve()):
            return shown + str(resolved.relative_to(base))
    return str(path)


class SaveMessageScreen(ModalScreen[Path | None]):
    """Ask where to write the message; the answer is a path, or None when cancelled."""

    DEFAULT_CSS = """
    SaveMessageScreen {
        align: center middle;
    }
    SaveMessageScreen > Vertical {
        width: 70;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    SaveMessageScreen Label {
        margin-bottom: 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the message to a file (enter saves, escape cancels)")
            yield Input(str(self.default), id="save-path")

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        self.dismiss(Path(raw).expanduser() if raw else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
