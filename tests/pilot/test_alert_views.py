"""What an SRE looks for on an alert-born incident, on the board: labels, graph, runbook link and
silences in the detail pane; incidents in maintenance behind `i`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.alerts.parse import Alert, Silence
from oncall_tui.alerts.reconcile import reconcile
from oncall_tui.config import DeskOptions
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.widgets.detail import IncidentSummary

T_FIRE = datetime(2026, 11, 27, 2, 50, tzinfo=UTC)
LABELS = {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity", "team": "iam"}


def board_rows(app: OncallApp) -> list[str]:
    board = app.board_screen.board
    lines = [board.render_line(y).text.rstrip() for y in range(1, board.size.height)]
    return [line for line in lines if line.strip().startswith("INC-")]


def alert(fp: str, **kw) -> Alert:
    return Alert(
        fp,
        {**LABELS, "instance": fp},
        {"summary": f"Login errors on {fp}", "runbook_url": "https://wiki.example/runbooks/identity.md"},
        T_FIRE,
        generator_url="http://prometheus:9090/graph?g0.expr=errors",
        **kw,
    )


@pytest.mark.anyio
async def test_the_detail_pane_shows_labels_graph_runbook_link_and_silences(desk, db_path, clock):
    reconcile(desk, [alert("idp-1")])
    sid = "s-bob"
    bobs = {
        sid: Silence(
            sid,
            "bob",
            "INC-9 acknowledged by bob on the on-call desk 0a0b0c0d: x",
            "active",
            None,
            T_FIRE + timedelta(hours=2),
        )
    }
    with desk.store.write():
        desk.store.put_alert_silence(
            1,
            {
                "silence_id": sid,
                "created_by": "bob",
                "comment": bobs[sid].comment,
                "starts_at": None,
                "ends_at": "2026-11-27T04:50:00Z",
                "state": "active",
                "own": 0,
            },
        )
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = app.query_one(IncidentSummary).render().plain
    assert "instance=idp-1" in text and "team=iam" in text
    assert "http://prometheus:9090/graph?g0.expr=errors" in text
    assert "https://wiki.example/runbooks/identity.md" in text
    assert "by bob until 2026-11-27 04:50" in text


@pytest.mark.anyio
async def test_incidents_in_maintenance_are_behind_a_toggle(desk, db_path, clock):
    reconcile(desk, [alert("idp-1"), alert("idp-2", inhibited_by=("host-down",))])
    assert desk.get(2).alert_state == "maintenance"
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert [r.split()[0] for r in board_rows(app)] == ["INC-1"]
        await pilot.press("i")
        await pilot.pause()
        rows = board_rows(app)
        assert [r.split()[0] for r in rows] == ["INC-1", "INC-2"]
        (maint,) = [r for r in rows if r.split()[0] == "INC-2"]
        assert "overdue" not in maint  # no clock runs in maintenance
        await pilot.press("i")
        await pilot.pause()
        assert [r.split()[0] for r in board_rows(app)] == ["INC-1"]
