"""The breach watcher reports each breach once: an identity is (incident, deadline key, due time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from oncall_tui.breaches import BreachWatcher
from oncall_tui.clock import parse_instant
from oncall_tui.deadlines import Deadline, State
from oncall_tui.model import Incident, Status

DUE = parse_instant("2026-11-27T03:05:00Z")


@dataclass
class Row:
    incident: Incident
    clocks: list[Deadline]

    def running_breaches(self) -> list[Deadline]:
        return self.clocks


def row(number: int, *clocks: tuple[str, object]) -> Row:
    incident = Incident(number, "t", Status.TRIGGERED, DUE, DUE)
    return Row(incident, [Deadline(key, key.title(), due, State.BREACHED) for key, due in clocks])


def test_a_breach_is_reported_once_and_any_other_incident_key_or_due_time_is_another():
    watcher = BreachWatcher()
    assert len(watcher.observe([row(1, ("acknowledge", DUE))])) == 1
    assert watcher.observe([row(1, ("acknowledge", DUE))]) == []  # the row computed again
    later = DUE + timedelta(microseconds=1)  # a promised update moved the due time, however little
    fresh = watcher.observe(
        [
            row(2, ("acknowledge", DUE)),
            row(1, ("severity", DUE)),
            row(1, ("acknowledge", later)),
            row(2**31, ("x", DUE)),
        ]
    )
    assert [(b.number, b.key, b.due_at) for b in fresh] == [
        (2, "acknowledge", DUE),
        (1, "severity", DUE),
        (1, "acknowledge", later),
        (2**31, "x", DUE),
    ]
    assert watcher.observe([row(1, ("severity", DUE), ("acknowledge", later))]) == []
