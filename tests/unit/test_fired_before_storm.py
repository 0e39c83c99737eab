"""'Fired before' after a storm: thousands of namesakes are counted, the newest ranked, none all read."""

from __future__ import annotations

from oncall_tui import fired_before as fb


def test_a_storms_namesakes_are_counted_exactly_and_only_the_newest_read(desk, monkeypatch):
    monkeypatch.setattr(fb, "RANKED", 5)
    with desk.store.batch():
        for i in range(12):
            desk.declare(
                f"Error rate on api-{i}",
                source="alert",
                fingerprint="same" if i % 4 == 0 else f"fp-{i}",
                labels={"alertname": "HighErrorRate", "instance": f"api-{i}"},
            )
    latest = desk.declare(
        "Error rate on api-12", source="alert", fingerprint="same", labels={"alertname": "HighErrorRate"}
    )
    found = fb.fired_before(desk.store, latest)
    assert found is not None
    assert found.count == 12 and found.same_alert_count == 3  # incidents 1, 5, 9
    assert len(found.past) == 5  # the newest five, ranked
    assert {p.incident.number for p in found.past} == {8, 9, 10, 11, 12}
