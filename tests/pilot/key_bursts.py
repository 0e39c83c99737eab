"""Keys arriving in one read, as they do over a laggy SSH link or from tmux send-keys."""

from __future__ import annotations

from textual import events


async def burst(pilot, *keys: str) -> None:
    """Post every key at once (not one per idle app, as `pilot.press` does), then let them settle.

    A key is a Textual key name ("tab", "down") or a printable character.
    """
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()
    await pilot.pause()
