"""What the board computes without a screen: order, transitions, countdown text, filters, start times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_tui.clock import parse_instant
from oncall_tui.model import Severity, Status
from oncall_tui.ui.board_model import BoardModel, Tone, countdown, next_due_text
from oncall_tui.ui.breaches import BreachWatcher
from oncall_tui.ui.filtering import BoardFilter
from oncall_tui.ui.widgets.board import columns_for, fit


def test_rows_sort_breached_first_then_nearest_deadline_then_severity(desk, clock, policy):
    clock.set("2026-11-27T02:50:00Z")
    desk.declare("Breached long ago", severity="P3")
    clock.set("2026-11-27T02:59:00Z")
    desk.declare("P2 due 03:04", severity="P2")
    desk.declare("P0 due 03:04", severity="P0")
    desk.declare("Undetermined due 03:04")
    clock.set("2026-11-27T03:00:00Z")
    model = BoardModel(policy)
    model.load(desk.incidents(), clock.now())
    assert [r.incident.title for r in model.rows] == [
        "Breached long ago",
        "Undetermined due 03:04",
        "P0 due 03:04",
        "P2 due 03:04",
    ]


def test_a_tick_between_transitions_does_no_work_and_a_transition_resorts(desk, clock, policy):
    desk.declare("Older", severity="P2", started_at=clock.now() - timedelta(minutes=2))  # ack due 03:03
    desk.declare("Newer", severity="P2")  # ack due 03:05
    model = BoardModel(policy)
    model.load(desk.incidents(), clock.now())
    assert model.next_change == parse_instant("2026-11-27T03:02:00Z")  # Older's last minute begins
    assert model.advance(clock.advance(seconds=30)) == []

    changed = model.advance(clock.set("2026-11-27T03:02:00Z") or clock.now())
    assert [r.incident.title for r in changed] == ["Older"]
    assert next_due_text(changed[0].next_due, clock.now(), policy.warn_fraction) == ("! ack in 1m00s", Tone.WARNING)

    desk.acknowledge(1)
    model.load(desk.incidents(), clock.now())
    clock.set("2026-11-27T03:05:00Z")  # due, and still on time
    assert not model.advance(clock.now())[0].breached
    clock.set("2026-11-27T03:05:01Z")
    changed = model.advance(clock.now())
    assert [r.incident.title for r in changed] == ["Newer"]
    assert model.rows[0].incident.title == "Newer" and model.rows[0].breached


def test_a_reload_recomputes_only_incidents_that_changed(desk, clock, policy):
    for title in ("A", "B", "C"):
        desk.declare(title, severity="P2")
    model = BoardModel(policy)
    assert len(model.load(desk.incidents(), clock.now())) == 3
    desk.acknowledge(2)
    recomputed = model.load(desk.incidents(), clock.now())
    assert [r.incident.title for r in recomputed] == ["B"]


def test_countdown_text_by_state(desk, clock, policy):
    desk.declare("x", severity="P1")
    dl = desk.deadlines(desk.get(1))
    ack = dl.get("acknowledge")
    assert countdown(ack, clock.now(), 0.2) == ("5m00s left", Tone.CALM)
    assert countdown(ack, clock.now() + timedelta(minutes=4, seconds=15), 0.2) == ("! 45s left", Tone.WARNING)
    assert countdown(ack, clock.now() + timedelta(minutes=8), 0.2) == ("!! 3m00s overdue", Tone.BREACHED)
    clock.advance(minutes=7)
    desk.acknowledge(1)
    done = desk.deadlines(desk.get(1)).get("acknowledge")
    assert countdown(done, clock.now(), 0.2) == ("done 2m00s late", Tone.DONE)
    assert countdown(dl.get("review"), clock.now(), 0.2) == ("—", Tone.NONE)


def test_breaches_are_reported_once_each(desk, clock, policy):
    desk.declare("x", severity="P3")
    model = BoardModel(policy)
    watcher = BreachWatcher()
    assert watcher.observe(model.load(desk.incidents(), clock.now())) == []
    clock.advance(minutes=5, seconds=1)
    first = watcher.observe(model.advance(clock.now()))
    assert {b.key for b in first} == {"acknowledge", "escalate:secondary-on-call"}
    assert watcher.observe(model.load(desk.incidents(), clock.now())) == []
    assert watcher.observe(model.advance(clock.advance(minutes=30))) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sev:P0,P1", {"severities": {Severity.P0, Severity.P1}}),
        ("sev:none", {"severities": {None}}),
        ("status:inv", {"statuses": {Status.INVESTIGATING}}),
        ("status:open", {"statuses": {s for s in Status if s.is_open}}),
        ("svc:Identity login", {"services": ("identity",), "words": ("login",)}),
        ("who:none", {"assignees": ("",)}),
    ],
)
def test_filter_parsing(text, expected):
    parsed = BoardFilter.parse(text)
    for name, value in expected.items():
        got = getattr(parsed, name)
        assert (set(got) if isinstance(value, set) else got) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sev:P9", "unknown severity"),
        ("status:done", "unknown status"),
        ("is:late", "unknown is:late"),
        ("prio:high", "unknown filter prio:"),
        ("svc:", "svc: needs a value"),
    ],
)
def test_filter_typos_are_errors(text, message):
    with pytest.raises(ValueError, match=message):
        BoardFilter.parse(text)


def test_filter_matches(desk):
    desk.declare("Login failures", severity="P0", services=["identity", "web"], assignee="alice")
    desk.declare("Slow API", services=["api"])
    login, api = desk.get(1), desk.get(2)
    assert BoardFilter.parse("sev:P0 svc:ident login").matches(login)
    assert not BoardFilter.parse("sev:P0").matches(api)
    assert BoardFilter.parse("sev:none who:none").matches(api)
    assert BoardFilter.parse("INC-2").matches(api)
    assert not BoardFilter.parse("is:breached").matches(api, breached=False)


def test_columns_fill_the_width_and_cells_are_cut_with_an_ellipsis():
    for width in (50, 80, 120, 200):
        columns = columns_for(width)
        assert 1 + sum(c.width for c in columns) + len(columns) - 1 == width
    assert fit("Login failures", 8) == "Login f…"
    assert fit("P1", 3) == "P1 "
    assert fit("東京 outage", 6) == "東京 …"


def test_a_rows_text_is_reformatted_only_when_it_can_have_changed(desk, clock, policy):
    desk.declare("Hours overdue", severity="P3", started_at=clock.now() - timedelta(hours=3))
    desk.declare("Seconds left", severity="P3")
    model = BoardModel(policy)
    model.load(desk.incidents(), clock.now())
    now = clock.now().timestamp()
    for row in model.rows:
        text, until = row.dynamic_text(now)
        for step in range(1, 200):  # the text holds until "until", and changes right after
            later = now + step / 2
            if later < until:
                assert row.dynamic_text(later)[0] == text
            else:
                assert row.dynamic_text(later + 1e-3)[0] != text
                break


def test_advancing_keeps_the_same_order_as_sorting_from_scratch(desk, clock, policy):
    import random

    rng = random.Random(3)
    for n in range(60):
        desk.declare(
            f"incident {n}",
            severity=rng.choice(["P0", "P1", "P2", "P3", None]),
            started_at=clock.now() - timedelta(minutes=rng.uniform(0, 90)),
        )
        if rng.random() < 0.4:
            desk.acknowledge(n + 1)
    model = BoardModel(policy)
    model.set_filter(BoardFilter.parse("status:trig"))
    model.load(desk.incidents(), clock.now())
    for _ in range(40):  # an hour and more, in steps that land on and between transitions
        clock.advance(seconds=rng.choice([1, 7, 30, 61, 300]))
        model.advance(clock.now())
        fresh = BoardModel(policy)
        fresh.set_filter(model.filter)
        fresh.load(desk.incidents(), clock.now())
        assert [r.incident.number for r in model.rows] == [r.incident.number for r in fresh.rows]
        assert [r.sort_key for r in model.rows] == [r.sort_key for r in fresh.rows]
        assert model.next_change == fresh.next_change


def varied_desk(desk, clock) -> None:
    """Incidents in every state a clock can be in, started over the last three hours."""
    start = clock.now()
    for i, (severity, acknowledge, status) in enumerate(
        [
            ("P0", False, None),
            ("P1", True, Status.INVESTIGATING),
            (None, False, None),
            ("P2", True, Status.MITIGATED),
            ("P3", True, Status.RESOLVED),
            ("P0", True, None),
            (None, True, None),
            ("P1", False, None),
        ]
        * 3
    ):
        inc = desk.declare(f"incident {i}", severity=severity, started_at=start - timedelta(minutes=7 * i))
        if acknowledge:
            desk.acknowledge(inc.number)
        if status is Status.RESOLVED:
            desk.move(inc.number, Status.MITIGATED)
            desk.edit(inc.number, "root_cause", "a bad deploy")
            desk.edit(inc.number, "resolution", "rolled back")
        if status is not None:
            desk.move(inc.number, status)
        clock.advance(seconds=13)


def test_a_lazy_load_sorts_as_a_full_one_and_completes_to_the_same_rows(desk, clock, policy):
    """The board's first frame at 10k waits for the order only: the same order, and rows that, once
    completed, are what a full load computes (the escalation, the breaches, the next transition)."""
    varied_desk(desk, clock)
    incidents = desk.incidents()
    full, lazy = BoardModel(policy), BoardModel(policy)
    full.load(incidents, clock.now())
    lazy.load(incidents, clock.now(), lazy=True)
    assert [r.incident.number for r in lazy.rows] == [r.incident.number for r in full.rows]
    assert lazy.counts == full.counts
    assert all(r.escalation is None for r in lazy.rows)
    for eager, row in zip(full.rows, lazy.rows):
        assert (row.next_due, row.sort_key, row.due_ts, row.warn_ts, row.label) == (
            eager.next_due,
            eager.sort_key,
            eager.due_ts,
            eager.warn_ts,
            eager.label,
        )
        lazy.complete(row)
        assert (row.escalation, row.breaches, row.changes_at) == (eager.escalation, eager.breaches, eager.changes_at)
    assert lazy.next_change == full.next_change


def test_a_lazily_loaded_row_takes_its_transitions_once_completed(desk, clock, policy):
    desk.declare("Soon breached", severity="P2")  # ack due in 5 minutes
    model = BoardModel(policy)
    model.load(desk.incidents(), clock.now(), lazy=True)
    clock.advance(minutes=6)
    assert model.advance(clock.now()) == []  # incomplete: no transition known yet
    model.complete(model.rows[0])  # as it stood at the load: its ack clock was still running
    [changed] = model.advance(clock.now())  # so the next tick takes the breach, as a full load's would
    assert changed.breached and [d.key for d in changed.breaches] == ["acknowledge", "escalate:secondary-on-call"]
    assert BreachWatcher().observe([changed])


def test_a_full_reload_completes_the_rows_a_lazy_one_left(desk, clock, policy):
    desk.declare("A", severity="P2")
    model = BoardModel(policy)
    model.load(desk.incidents(), clock.now(), lazy=True)
    model.load(desk.incidents(), clock.now())
    assert model.rows[0].escalation is not None and model.next_change is not None


def test_the_cli_lists_incidents_in_the_boards_order_closed_ones_last(desk, clock, policy):
    """`list --all` and the board showing closed incidents agree, down to a closed P2 coming after a
    resolved P3 (neither has a clock running: being closed is what puts it last)."""
    from oncall_tui.commands.incidents import _by_urgency

    varied_desk(desk, clock)
    desk.edit(4, "root_cause", "a bad deploy")  # INC-4: P2, mitigated
    desk.edit(4, "resolution", "rolled back")
    desk.move(4, Status.RESOLVED)
    desk.move(4, Status.CLOSED)
    model = BoardModel(policy)
    model.load(desk.incidents(include_closed=True), clock.now())
    listed = [incident.number for incident, _ in _by_urgency(desk, clock.now(), closed_too=True)]
    assert listed == [r.incident.number for r in model.rows]
    assert listed[-1] == 4 and listed.index(5) < listed.index(4)  # INC-5: P3, resolved
