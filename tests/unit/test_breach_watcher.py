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


def test_each_incident_remembers_its_own_breaches_however_many_and_whatever_their_keys():
    watcher = BreachWatcher()
    before_1970 = parse_instant("1969-07-20T20:17:40Z")  # a negative instant packs as well
    keys = [f"escalate:{i}" for i in range(600)]  # past the keys one integer can number
    clocks = [(key, DUE + timedelta(seconds=i)) for i, key in enumerate(keys)] + [("acknowledge", before_1970)]
    assert len(watcher.observe([row(7, *clocks)])) == len(clocks)
    assert watcher.observe([row(7, *reversed(clocks))]) == []
    # The same keys and due times on another incident, or a due time a microsecond off, are new.
    assert len(watcher.observe([row(8, *clocks)])) == len(clocks)
    moved = [(key, due + timedelta(microseconds=1)) for key, due in clocks]
    assert len(watcher.observe([row(7, *moved)])) == len(clocks)
    assert watcher.observe([row(7, *clocks, *moved), row(8, *clocks)]) == []


def test_a_key_numbered_past_one_integer_never_matches_another_keys_breach():
    watcher = BreachWatcher()
    watcher.observe([row(1, *((f"k{i}", DUE) for i in range(256)))])
    late = [(b.key, b.due_at) for b in watcher.observe([row(1, ("k256", DUE), ("k0", DUE))])]
    assert late == [("k256", DUE)]  # numbered 256: a (key, due) pair, never confused with k0's integer
    assert watcher.observe([row(2, ("k256", DUE))]) != []  # and only for its own incident
    assert watcher.observe([row(1, *((f"k{i}", DUE) for i in range(257)))]) == []


def test_breaches_packed_together_are_told_apart_and_unpacked_when_one_does_not_fit():
    watcher = BreachWatcher()
    epoch = parse_instant("1970-01-01T00:00:00Z")  # the first key at the epoch: identity 0, still one
    packed = [("acknowledge", epoch)] + [("acknowledge", DUE + timedelta(microseconds=i)) for i in range(40)]
    assert len(watcher.observe([row(3, *packed)])) == len(packed)
    assert watcher.observe([row(3, *packed)]) == []
    assert watcher.observe([row(4, ("acknowledge", epoch))]) != []
    odd = ("acknowledge", parse_instant("1969-12-31T23:59:59Z"))  # fits no word: a tuple from here on
    assert len(watcher.observe([row(3, odd, *packed, ("severity", DUE))])) == 2
    assert watcher.observe([row(3, *packed, odd, ("severity", DUE))]) == []
