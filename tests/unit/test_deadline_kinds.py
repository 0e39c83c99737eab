"""One table of deadline kinds (`deadlines.DEADLINE_KINDS`) that everything naming a deadline reads.

A made-up kind registered for a test (the `extra_deadline_kind` fixture) must reach the clocks, the
board's next-deadline cell, the wall, the report, the review document, the composer's choice of
clocks and the checklist without any other change: a consumer that keeps its own list of kinds
fails here.
"""

from __future__ import annotations

import re
from datetime import timedelta

from oncall_tui import checklist, deadlines, export_review, metrics, runbooks, templates
from oncall_tui.deadlines import DEADLINE_KINDS, State, compute
from oncall_tui.paths import data_dir
from oncall_tui.ui.board_model import BoardModel, Tone, next_due_text, short_label
from oncall_tui.ui.wall.model import clock_of


def test_each_kind_is_described_once_and_fully():
    keys = [k.key for k in DEADLINE_KINDS]
    assert len(set(keys)) == len(keys)
    assert keys == ["acknowledge", "severity", "stakeholders", "next_update", "review"]
    process = (data_dir() / "runbooks" / "process.md").read_text(encoding="utf-8")
    process_facts = set(re.findall(r"<!-- desk: (\w+) -->", process))
    for kind in DEADLINE_KINDS:
        assert not kind.key.startswith("escalate:"), "escalation tiers come from the policy, not this table"
        assert kind.label and kind.how
        # "!! notify 18m18s overdue" must fit the board's NEXT DEADLINE column.
        assert 0 < len(kind.short) <= 6, kind.short
        assert set(kind.messages) <= set(templates.KINDS), kind.messages
        if kind.step:
            assert kind.step in runbooks.DESK_KEYS and kind.step in checklist.DESK_FACTS, kind.step
            assert kind.step in process_facts, f"no step of the process runbook is ticked by {kind.key}"


def test_the_shipped_kinds_read_as_before():
    # What the desk shows for each kind, spelled out: a change here is a change users see.
    assert [(k.label, short_label(k.key), k.caption) for k in DEADLINE_KINDS] == [
        ("Acknowledge", "ack", "ACKNOWLEDGE"),
        ("Determine severity", "sev", "SET SEVERITY"),
        ("Notify stakeholders", "notify", "NOTIFY STAKEHOLDERS"),
        ("Next update", "update", "NEXT UPDATE"),
        ("Post-incident review", "review", "REVIEW"),
    ]
    assert [k.key for k in deadlines.kinds_met_by("initial")] == ["stakeholders", "next_update"]
    assert [k.key for k in deadlines.kinds_met_by("update")] == ["next_update"]
    assert deadlines.kinds_met_by("resolution") == ()
    assert checklist.done_by_action("acknowledged") == "press a to acknowledge"
    assert checklist.done_by_action("notified") == "send the Initial Alert with m"
    assert checklist.done_by_action("resolved") == "resolve it with x"
    assert checklist.done_by_action("eta") is None  # ticked by hand
    assert metrics.deadline_label("escalate:secondary-on-call") == "escalate:secondary-on-call"


def test_a_new_kind_runs_its_clock_between_the_response_and_the_ladder(extra_deadline_kind, desk, clock):
    inc = desk.declare("Login failures", severity="P2")
    dl = compute(inc, desk.policy, clock.now() + timedelta(minutes=31))
    keys = [d.key for d in dl.items]
    assert keys.index("next_update") < keys.index("status_page") < keys.index("escalate:secondary-on-call")
    assert keys[-1] == "review"
    d = dl.get("status_page")
    assert (d.label, d.state) == ("Post to the status page", State.BREACHED)
    assert d.due_at == inc.started_at + timedelta(minutes=30)


def test_a_new_kind_shows_on_the_board_and_the_wall(extra_deadline_kind, desk, clock):
    inc = desk.declare("Login failures", severity="P2")
    now = clock.now() + timedelta(minutes=31)
    d = compute(inc, desk.policy, now).get("status_page")
    assert next_due_text(d, now, desk.policy.warn_fraction) == ("!! status 1m00s overdue", Tone.BREACHED)
    # Every earlier clock done, it is the one the board and the wall lead with.
    desk.acknowledge(inc.number)
    model = BoardModel(desk.policy)
    model.load(desk.incidents(), now)
    row = model.rows[0]
    assert row.next_due is not None and row.next_due.key == "status_page"
    assert clock_of(row, now.timestamp()).caption == "POST TO THE STATUS PAGE OVERDUE"


def test_a_new_kind_is_counted_by_the_report(extra_deadline_kind, desk, clock):
    start = clock.now()
    late = desk.declare("Login failures", severity="P1")
    clock.advance(minutes=40)
    desk.record_message(late.number, template="initial", via="clipboard", text="[P1] Login failures")
    on_time = desk.declare("Search slow", severity="P1")
    clock.advance(minutes=10)
    desk.record_message(on_time.number, template="initial", via="clipboard", text="[P1] Search slow")
    period = metrics.Period(start - timedelta(days=1), start + timedelta(days=1))
    report = metrics.build(desk.store, desk.policy, clock.now(), period)
    assert report.breaches.by_kind["status_page"]["P1"] == 1
    assert "  Post to the status page" in metrics.format_report(report)
    assert metrics.report_dict(report)["deadline_breaches"]["by_kind"]["status_page"]["P1"] == 1


def test_a_new_kind_is_in_the_review_document(extra_deadline_kind, desk, clock):
    inc = desk.declare("Login failures", severity="P1")
    clock.advance(minutes=40)
    desk.record_message(inc.number, template="initial", via="clipboard", text="[P1] Login failures")
    inc = desk.get(inc.number)
    rows = export_review.deadline_rows(inc, desk.deadlines(inc), desk.timeline(inc.number))
    row = next(r for r in rows if r.key == "status_page")
    assert (row.label, row.state, row.result) == ("Post to the status page", "missed", "missed by 10m00s")


def test_a_new_kind_met_by_a_message_and_ticking_a_step(extra_deadline_kind):
    assert extra_deadline_kind in deadlines.kinds_met_by("initial")
    assert checklist.done_by_action("eta") == "post it with the Initial Alert (m)"
