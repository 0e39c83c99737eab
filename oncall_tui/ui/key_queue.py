"""Keys typed faster than the screen: one queue, one key at a time.

A key that opens a prompt (n, a, e…) is followed by the keys typed after it only once the prompt is
up and focused, so type-ahead reaches it. Textual forwards each key to the focused widget as it
arrives; in one read of `nfirst note\\r` the text would reach the board before the prompt existed,
and be lost.

What a key changes beside what it moves (the detail of the row the cursor reached) can wait for the
key's own frame: `after_frame`. The cursor is painted first, the detail straight after, before the
next key is handed on, so a key never acts on a detail not yet shown.

Escape and the key after it, typed quickly or sent in one write (`tmux send-keys Escape q`), reach
the desk as one byte sequence that the terminal protocol reads as Alt+that key. The desk binds no
Alt key, so such a key is what the user typed: Escape, then the key (`escape_then`). Escape closes
the help, q then quits, as meant; an Alt key a screen does bind is left alone.

Textual's terminal parser keeps that Alt only for letters and digits: `ESC /` came out as a bare
`/`, and the Escape was gone (the severity picker stayed open, and took the `1` of `/sev:P1` as
P1). An Escape followed by more than the parser looks ahead for, or by another Escape, came out as
a literal `^`. `keep_escapes` makes both an Alt key like any other, for `escape_then` to split.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Container, Iterator
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.keys import _character_to_key
from textual.message_pump import MessagePump

from ..foreground import FOREGROUND

# The longest a key waits for the one before it to settle (see KeyQueue._settled): in CPU time of
# the desk's own thread, so that a machine too busy to run the desk does not use it up, and, as a
# last resort, in wall-clock time.
SETTLE_SECONDS = 1.0
SETTLE_WALL_SECONDS = 10.0


def _takes_text(widget: object) -> bool:
    # By name: importing TextArea to test against it would slow the board's first frame.
    return any(cls.__name__ in ("Input", "TextArea") for cls in type(widget).__mro__)


def _idle(pump: MessagePump) -> bool:
    """Nothing queued for `pump` and nothing of it in progress (asyncio.Queue counts a message as
    unfinished until its handler returned)."""
    queue: asyncio.Queue[object] = pump._message_queue
    return queue.empty() and not getattr(queue, "_unfinished_tasks", 0) and not pump._next_callbacks


def escape_then(key: events.Key, bound: Container[str]) -> tuple[events.Key, events.Key] | None:
    """Escape and the plain key, for an Alt+key nothing in `bound` answers to; else None."""
    char = key.character
    if not key.key.startswith("alt+") or key.key in bound or not char or len(char) != 1:
        return None
    if char.isprintable():
        name = char if char.isalnum() else _character_to_key(char)
    else:  # enter, tab, backspace…: named by the parser
        name = key.key.removeprefix("alt+")
    return events.Key("escape", "\x1b"), events.Key(name, char)


def keep_escapes() -> None:
    """Make Textual's terminal parser keep an Escape typed just before another key (see above).

    The parser re-reads a sequence it does not know one character at a time, asking
    `_sequence_to_key_events(char, alt)` for each: with `alt` after the Escape, which it then
    drops for any key whose name is longer than one letter (`slash`, `enter`); and, when the
    sequence was cut short (too long, or a second Escape arrived), it hands over the Escape itself,
    which it then shows as `^`. Here the first becomes `alt+slash`, and the second marks the next
    character as Alt. Installed once, for every driver (terminal and browser alike).
    """
    if getattr(XTermParser._sequence_to_key_events, "keeps_escapes", False):
        return
    textual_keys = XTermParser._sequence_to_key_events

    def _sequence_to_key_events(self: XTermParser, sequence: str, alt: bool = False) -> Iterator[events.Key]:
        if sequence == "\x1b":  # only a cut-short sequence hands over its lone Escape
            self._escape_pending = True  # type: ignore[attr-defined]
            return
        if getattr(self, "_escape_pending", False) and len(sequence) == 1:
            self._escape_pending = False  # type: ignore[attr-defined]
            alt = True
        keys = list(textual_keys(self, sequence, alt))
        if alt and len(sequence) == 1 and keys and not keys[0].key.startswith("alt+"):
            keys[0] = events.Key(f"alt+{keys[0].key}", keys[0].character)
        yield from keys

    _sequence_to_key_events.keeps_escapes = True  # type: ignore[attr-defined]
    XTermParser._sequence_to_key_events = _sequence_to_key_events  # type: ignore[method-assign]


class KeyQueue:
    """The app's keys, handed on one at a time by `dispatch` (Textual's own event handling)."""

    def __init__(self, app: App[Any], dispatch: Callable[[events.Event], Awaitable[None]]) -> None:
        keep_escapes()
        self.app = app
        self.dispatch = dispatch
        self._keys: deque[events.Key] = deque()
        self._pump: asyncio.Task[None] | None = None
        self._answering = False  # a key is being handed on or settling
        self._after: dict[Callable[[], None], None] = {}  # after_frame's, in order, each once
        self._walked: tuple[tuple[MessagePump, int], ...] = ()  # the screens' trees as last walked
        self._walked_pumps: list[MessagePump] = []

    def put(self, key: events.Key) -> None:
        self._keys.append(key)
        FOREGROUND.busy()  # background work waits until the key's frame is painted (foreground.py)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="key-pump")

    def after_frame(self, callback: Callable[[], None]) -> bool:
        """Run `callback` once the key being answered has painted its frame (at once if another key
        is waiting, before that key); False, and nothing scheduled, when no key is being answered.

        A cursor key's frame is the moved cursor alone, a few lines; the detail it brings is most of
        the key's cost, and follows in the next frame, a few milliseconds later."""
        if not self._answering:
            return False
        self._after[callback] = None
        return True

    async def _run(self) -> None:
        app = self.app
        self._answering = True
        try:
            while self._keys:
                event = self._keys.popleft()
                # The screen's bindings are gathered only for an Alt key: for any other key that
                # walk of the focus chain was a twentieth of a cursor key's cost.
                if (
                    event.key.startswith("alt+")
                    and (keys := escape_then(event, app.screen.active_bindings)) is not None
                ):
                    self._keys.extendleft(reversed(keys))  # read as typed, against the screen now in front
                    continue
                target = app.focused or app.screen
                await self.dispatch(event)
                # Characters typed into a text field cannot change the screen: they go straight on,
                # so a pasted line is not slowed to one character per frame.
                if not (event.is_printable and _takes_text(target)):
                    await self._settled()
                if self._after:
                    if not self._keys:
                        self._paint_now()  # the key's own frame first
                    await self._run_after()
            self._paint_now()
        except Exception as exc:  # as if raised in a handler: the app shows it and exits
            app._handle_exception(exc)
        finally:
            self._answering = False
            self._after.clear()
            # The screen runs these once nothing of it is left to paint: after the key's frame.
            app.screen.call_after_refresh(self._painted)

    async def _run_after(self) -> None:
        while self._after:
            callbacks = list(self._after)
            self._after.clear()
            for callback in callbacks:
                callback()
            await self._settled()

    def _paint_now(self) -> None:
        """The last key's frame now, rather than at the screen's next 60 Hz slot.

        Textual paints on a timer; while an alert storm repaints the board every few tens of
        milliseconds, the slot after a key was often most of a frame away, on top of the frame
        itself. Every message the key set off has been handled by now (`_settled`), so what is
        painted is what the key made. Keys typed faster than that are not painted one by one.
        """
        screen = self.app.screen
        if getattr(screen, "_dirty_widgets", None) or getattr(screen, "_repaint_required", False):
            screen._on_timer_update()  # what the screen's own update timer runs

    def _painted(self) -> None:
        if not self._keys:
            FOREGROUND.quiet()

    async def _settled(self) -> None:
        """Wait until every message the key set off has been handled: the widget's binding, the
        messages it posted (an Input's Submitted bubbling to its screen), the screen pushed or
        popped and its focus. Then the next key reaches the widget that is focused now.

        Polled over a few turns of the event loop (a key handled by the board settles in a
        couple of milliseconds), and bounded, so a widget that never goes quiet delays keys by at
        most that bound instead of holding them forever. The bound is the desk's own CPU time (its
        polling spins, so on a quiet machine that is wall time too): on a machine so loaded that
        opening a prompt took over a second of wall time, the keys typed after `n` reached the
        board before the prompt was up (`second note` lost its `s`).
        """
        loop = asyncio.get_running_loop()
        wall_deadline = loop.time() + SETTLE_WALL_SECONDS
        cpu_deadline = time.thread_time() + SETTLE_SECONDS
        calm = 0
        while calm < 2 and time.thread_time() < cpu_deadline and loop.time() < wall_deadline:
            await asyncio.sleep(0)
            calm = calm + 1 if self._quiet() else 0

    def _quiet(self) -> bool:
        return all(_idle(pump) for pump in self._pumps())

    def _pumps(self) -> list[MessagePump]:
        """The app and every node of its screens, walked again only when a screen's tree changed
        (a node list counts its changes, and its ancestors'); walking every widget on each turn
        of the loop was a tenth of a cursor key's cost."""
        key = tuple((screen, screen._nodes._updates) for screen in self.app.screen_stack)
        if key != self._walked:
            pumps: list[MessagePump] = [self.app]
            for screen in self.app.screen_stack:
                pumps.extend(screen.walk_children(with_self=True))
            self._walked, self._walked_pumps = key, pumps
        return self._walked_pumps
