"""Decoding the board's bulk read: lists stored alike are decoded once and shared, and stay exact."""

from __future__ import annotations

from oncall_tui.desk import Desk


def test_incidents_storing_the_same_services_share_them_and_an_edit_reads_back(desk: Desk) -> None:
    for title in ("Checkout slow", "Checkout errors"):
        desk.declare(title, severity="P2", services=["checkout", "payments"])
    first, second = desk.store.incidents()
    assert first.services == ("checkout", "payments") and first.services is second.services
    desk.edit(2, "services", "payments, ledger")
    assert [i.services for i in desk.store.incidents()] == [("checkout", "payments"), ("payments", "ledger")]
