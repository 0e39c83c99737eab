"""The Textual front end. Everything below `oncall_tui.ui` may import Textual; nothing above may."""
