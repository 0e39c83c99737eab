"""An alert's labels and annotations → the incident it asks for, by the policy's [alerts] table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from oncall_tui.alerts.mapping import (
    draft_for,
    group_key,
    runbook_for,
    runbook_matcher,
    services_for,
    severity_for,
    title_for,
)
from oncall_tui.alerts.parse import Alert, labelset_fingerprint
from oncall_tui.model import Severity
from oncall_tui.runbooks import RunbookLibrary

UTC = UTC


def alert(fp="f1", annotations=None, starts_at=None, **labels) -> Alert:
    return Alert(fp, labels or {"alertname": "X"}, annotations or {}, starts_at)


@pytest.fixture
def ap(policy):
    return policy.alerts


@pytest.mark.parametrize(
    "label, expected",
    [
        ("page", Severity.P0),
        ("critical", Severity.P1),
        ("CRITICAL", Severity.P1),
        (" warning ", Severity.P2),
        ("info", Severity.P3),
        ("bogus", None),
        ("", None),
    ],
)
def test_severity_label_maps_through_the_policy_or_stays_undetermined(ap, label, expected):
    assert severity_for(alert(alertname="A", severity=label), ap) is expected


def test_no_severity_label_leaves_severity_undetermined(ap):
    assert severity_for(alert(alertname="A"), ap) is None


def test_user_policy_changes_the_map(ap):
    mine = replace(ap, severity_map={"sev1": Severity.P0})
    assert severity_for(alert(alertname="A", severity="sev1"), mine) is Severity.P0
    assert severity_for(alert(alertname="A", severity="critical"), mine) is None


def test_services_come_from_the_configured_labels_in_order_without_repeats(ap):
    a = alert(alertname="A", job="db", service="identity", app="identity")
    assert services_for([a], ap) == ("identity", "db")  # policy order: service, app, job
    assert services_for([alert(alertname="A")], ap) == ()


def test_title_is_the_summary_else_the_alert_name(ap):
    assert title_for(alert(annotations={"summary": "Login errors\nabove 5%"}, alertname="A")) == "Login errors above 5%"
    assert title_for(alert(alertname="DiskFull")) == "DiskFull"
    assert title_for(Alert("abc", {"job": "x"})) == "Alert abc"
    long = title_for(alert(annotations={"summary": "x" * 1000}, alertname="A"))
    assert len(long) == 200 and long.endswith("…")


def test_explicit_runbook_label_or_annotation_wins():
    assert runbook_for(alert(alertname="A", runbook="database-performance-issues")) == "database-performance-issues"
    assert runbook_for(alert(annotations={"runbook": "rb-1"}, alertname="A")) == "rb-1"
    assert runbook_for(alert(alertname="A")) == ""
    assert runbook_for(alert(alertname="A"), lambda a: "from-matcher") == "from-matcher"


def test_runbook_library_matches_alert_names_services_and_runbook_urls(ap):
    match = runbook_matcher(RunbookLibrary(), ap)
    assert match(alert(alertname="IdentityServiceDown")) == "identity-service-outage"
    assert match(alert(alertname="Whatever", service="identity")) == "identity-service-outage"
    url = {"runbook_url": "https://wiki.example/runbooks/database-performance-issues.md"}
    assert match(alert(annotations=url, alertname="SlowQueries")) == "database-performance-issues"
    anchor = {"runbook_url": "https://wiki.example/runbooks#compliance-service-failure"}
    assert match(alert(annotations=anchor, alertname="X")) == "compliance-service-failure"
    # Nothing strong to go on: no runbook is recorded; the pane still suggests and the engineer chooses.
    assert match(alert(alertname="SomethingElse")) == ""
    assert match(alert(annotations={"runbook_url": "https://wiki/process"}, alertname="X")) == ""


def test_group_key_is_the_fingerprint_without_grouping():
    a = alert(alertname="A", instance="1")
    assert group_key(a, ()) == ("f1", {"alertname": "A", "instance": "1"})


def test_group_key_shares_the_group_labels():
    a, b = alert("f1", alertname="A", service="s", instance="1"), alert("f2", alertname="A", service="s", instance="2")
    key_a, labels_a = group_key(a, ("alertname", "service"))
    assert key_a == group_key(b, ("alertname", "service"))[0]
    assert labels_a == {"alertname": "A", "service": "s"}
    assert key_a == "group:" + labelset_fingerprint(labels_a)
    # None of the group labels: the alert stands alone (a silence needs at least one label).
    assert group_key(alert("f3", job="x"), ("service",)) == ("f3", {"job": "x"})


def test_draft_of_a_group_takes_the_worst_severity_earliest_start_and_all_services(ap):
    t1, t2 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    a = Alert("f1", {"alertname": "A", "severity": "warning", "service": "api"}, {"summary": "API slow"}, t1)
    b = Alert("f2", {"alertname": "B", "severity": "page", "service": "db"}, {}, t2)
    d = draft_for("group:x", {"alertname": "A"}, [a, b], ap)
    assert (d.title, d.severity, d.services, d.started_at) == ("API slow", Severity.P0, ("api", "db"), t1)
    details = d.details()
    assert [m["fingerprint"] for m in details["alerts"]] == ["f1", "f2"]
    assert details["alerts"][0]["starts_at"] == "2026-11-27T02:00:00Z"


def test_draft_records_where_the_alert_came_from(ap):
    a = Alert(
        "f1",
        {"alertname": "A"},
        {"summary": "s", "runbook_url": "https://rb", "description": "d" * 5000},
        None,
        generator_url="http://prom/graph?g0.expr=up",
    )
    details = draft_for("f1", dict(a.labels), [a], ap).details()
    assert details["runbook_url"] == "https://rb"
    assert details["generator_url"] == "http://prom/graph?g0.expr=up"
    assert len(details["annotations"]["description"]) == 2000
    assert details["alerts"] == [{"fingerprint": "f1", "alertname": "A", "starts_at": None}]
