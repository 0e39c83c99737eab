"""The board's breach watching is the core's (`oncall_tui.breaches`), shared with the agent."""

from __future__ import annotations

from ..breaches import Breach, BreachWatcher, Written, record_all

__all__ = ["Breach", "BreachWatcher", "Written", "record_all"]
