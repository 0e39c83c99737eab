"""One poll of 1,000 active alerts: parsed and reconciled against a real desk file in < 200 ms,
and a poll with nothing new writes nothing.

Run: .venv/bin/pytest tests/benchmarks/bench_alert_poll.py -q -s -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.alerts.client import AlertmanagerClient
from oncall_tui.alerts.intake import Intake
from oncall_tui.alerts.parse import parse_alerts
from oncall_tui.alerts.reconcile import reconcile
from oncall_tui.desk import Desk

ALERTS = 1_000
BUDGET_MS = 200
UTC = UTC


def body(n: int, *, extra: int = 0) -> bytes:
    """What Alertmanager 0.25 sends for n firing alerts (same fields, same time format)."""
    start = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    alerts = []
    for i in range(n + extra):
        stamp = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        alerts.append(
            {
                "annotations": {
                    "summary": f"Error rate above 5% on api-{i}",
                    "description": "x" * 200,
                    "runbook_url": "https://wiki.example/runbooks/database-performance-issues.md",
                },
                "endsAt": "2026-11-27T03:05:00.000Z",
                "fingerprint": f"{i:016x}",
                "receivers": [{"name": "pager"}],
                "startsAt": stamp,
                "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
                "updatedAt": "2026-11-27T03:00:00.000Z",
                "generatorURL": f'http://prometheus:9090/graph?g0.expr=errors{{instance="api-{i}"}}',
                "labels": {
                    "alertname": "HighErrorRate",
                    "severity": ["critical", "warning", "page"][i % 3],
                    "service": f"svc-{i % 40}",
                    "instance": f"api-{i}:9100",
                    "job": "api",
                },
            }
        )
    return json.dumps(alerts).encode()


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


@pytest.fixture
def loaded(db_path, policy, clock):
    desk = Desk.open(db_path, policy=policy, clock=clock)
    payload = body(ALERTS)
    t = time.perf_counter()
    first = reconcile(desk, parse_alerts(payload))
    first_ms = (time.perf_counter() - t) * 1000
    assert len(first.changes) == ALERTS and not first.problems
    print(
        f"\nfirst poll, {ALERTS:,} new alerts → {ALERTS:,} incidents: {first_ms:,.0f} ms "
        f"({first_ms / ALERTS:.2f} ms per incident, one durable transaction each)"
    )
    yield desk, payload
    desk.close()


def test_steady_poll_of_1000_alerts_is_under_budget_and_writes_nothing(loaded, db_path, policy):
    desk, payload = loaded
    watcher = Desk.open(db_path, policy=policy)  # a second connection sees any commit in data_version
    try:
        events_before = desk.store.conn.execute("SELECT COUNT(*), MAX(seq) FROM events").fetchone()
        version_before = watcher.data_version()

        def poll():
            assert reconcile(desk, parse_alerts(payload)).changes == ()

        times = timed(poll, 15)
        parse_ms = statistics.median(timed(lambda: parse_alerts(payload), 15))
        median, worst = statistics.median(times), max(times)
        print(
            f"steady poll, {ALERTS:,} known alerts ({len(payload) / 1e6:.1f} MB): median {median:.1f} ms, "
            f"worst {worst:.1f} ms (parse alone {parse_ms:.1f} ms); budget {BUDGET_MS} ms"
        )
        assert median < BUDGET_MS
        assert desk.store.conn.execute("SELECT COUNT(*), MAX(seq) FROM events").fetchone() == events_before
        assert watcher.data_version() == version_before
    finally:
        watcher.close()


def test_poll_with_one_new_alert_among_1000(loaded):
    desk, _ = loaded
    payload = body(ALERTS, extra=1)
    t = time.perf_counter()
    outcome = reconcile(desk, parse_alerts(payload))
    ms = (time.perf_counter() - t) * 1000
    print(f"poll with 1 new alert among {ALERTS:,}: {ms:.1f} ms")
    assert [c.kind for c in outcome.changes] == ["declared"]
    assert ms < BUDGET_MS


def test_whole_poll_through_the_intake_writes_nothing(loaded):
    """The board's poll as it runs: HTTP answer (an in-process transport), parse off the event loop,
    reconcile, silence bookkeeping — for 1,000 known alerts."""
    desk, payload = loaded
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=payload))

    async def polls() -> list[float]:
        async with AlertmanagerClient("http://alertmanager.test", transport=transport) as client:
            intake = Intake(desk, client)
            out = []
            for _ in range(15):
                t = time.perf_counter()
                result = await intake.pull()
                out.append((time.perf_counter() - t) * 1000)
                assert result.changes == () and result.alerts == ALERTS
            return out

    events_before = desk.store.conn.execute("SELECT COUNT(*) FROM events").fetchone()
    times = asyncio.run(polls())
    print(
        f"whole intake poll, {ALERTS:,} known alerts: median {statistics.median(times):.1f} ms, "
        f"worst {max(times):.1f} ms"
    )
    assert statistics.median(times) < BUDGET_MS
    assert desk.store.conn.execute("SELECT COUNT(*) FROM events").fetchone() == events_before
