"""Desks for the wall's tests, built at a frozen instant: nothing in them depends on today's date."""

from __future__ import annotations

from datetime import timedelta

from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Desk
from oncall_tui.model import Severity

# (minutes before now it started, severity, title, services, acknowledged minutes after start)
TWELVE = [
    (42, Severity.P0, "Login failures across all tenants", ["identity"], None),  # ack breached
    (35, Severity.P1, "Checkout payments declined for EU cards", ["payments"], 2),  # notify breached
    (95, Severity.P1, "Search results stale for an hour", ["search"], 3),  # update breached
    (4, Severity.P0, "API gateway 5xx rate above 20%", ["api-gateway"], None),
    (12, Severity.P1, "Governance policy evaluation timeouts", ["compliance"], 1),
    (2, None, "Slow API responses in us-east", ["api"], None),
    (20, Severity.P2, "Export queue backlog growing", ["export"], 4),
    (8, Severity.P2, "Webhook deliveries delayed", ["webhooks"], 2),
    (30, Severity.P3, "Docs typo on the status page", ["status-page"], 10),
    (14, Severity.P1, "Mobile push notifications failing", ["push"], 1),
    (6, Severity.P2, "Thumbnail generation errors", ["media"], 3),
    (1, Severity.P3, "Dashboard tile misaligned", ["web"], None),
]


def twelve_open_three_breached(desk: Desk, clock: FrozenClock) -> Desk:
    """Twelve open incidents; three of them have a clock that ran out."""
    now = clock.now()
    for minutes, severity, title, services, ack_after in TWELVE:
        start = now - timedelta(minutes=minutes)
        clock.set(start)
        inc = desk.declare(title, severity=severity, services=services, started_at=start)
        if ack_after is not None:
            clock.set(start + timedelta(minutes=ack_after))
            desk.acknowledge(inc.number)
        if title.startswith(("Search", "Governance", "Mobile", "API gateway")) and severity is not None:
            clock.set(start + timedelta(minutes=min(minutes, 10)))
            desk.record_message(inc.number, template="initial", text=f"[{severity.value}] {title}", via="clipboard")
    clock.set(now)
    return desk
