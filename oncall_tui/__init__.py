"""oncall-tui: the on-call desk in a terminal."""

__version__ = "0.1.0"
