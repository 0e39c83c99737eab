"""Wall mode: the board for a screen across the room, read-only by construction.

`model` decides what the wall shows (pure, no Textual); `app` is the read-only Textual app.
"""
