"""Widgets the screens are built from: the board, the detail pane and its tabs, status lines."""
