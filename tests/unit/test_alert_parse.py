"""Alertmanager API v2 payloads, as the real server sends them, and everything that is not one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.alerts.parse import (
    Alert,
    AlertPayloadError,
    labelset_fingerprint,
    parse_alerts,
    parse_silences,
)

UTC = UTC

# Captured from prometheus-alertmanager 0.25 (GET /api/v2/alerts): one alert silenced by amtool.
REAL_ALERTS = """[
 {"annotations":{"runbook_url":"https://wiki/rb","summary":"Login errors above 5%"},
  "endsAt":"2026-11-27T15:33:14.967Z","fingerprint":"e7ef66ca8e78a1d6","receivers":[{"name":"null"}],
  "startsAt":"2026-01-01T03:00:00.000Z",
  "status":{"inhibitedBy":[],"silencedBy":["4c0a02f1-ea28-4720-8a99-553ce400c49d"],"state":"suppressed"},
  "updatedAt":"2026-11-27T15:28:14.967Z","generatorURL":"http://prom/graph",
  "labels":{"alertname":"HighErrorRate","instance":"a:1","service":"identity","severity":"critical"}},
 {"annotations":{},"endsAt":"2026-11-27T15:33:25.443Z","fingerprint":"088c36f2ac3146b1",
  "receivers":[{"name":"null"}],"startsAt":"2026-11-27T15:28:25.443Z",
  "status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-11-27T15:28:25.443Z",
  "labels":{"alertname":"NoStart","severity":"page"}}
]"""

REAL_SILENCES = """[{"id":"4c0a02f1-ea28-4720-8a99-553ce400c49d","status":{"state":"active"},
 "updatedAt":"2026-11-27T15:28:17.065Z","comment":"INC-3 acknowledged","createdBy":"bob",
 "endsAt":"2026-11-27T18:00:00.000Z",
 "matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"HighErrorRate"}],
 "startsAt":"2026-11-27T15:28:17.065Z"}]"""


def test_real_payload_reads_every_field():
    silenced, plain = parse_alerts(REAL_ALERTS.encode())
    assert silenced.fingerprint == "e7ef66ca8e78a1d6"
    assert silenced.name == "HighErrorRate"
    assert silenced.summary == "Login errors above 5%"
    assert silenced.starts_at == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert silenced.ends_at == datetime(2026, 11, 27, 15, 33, 14, 967000, tzinfo=UTC)
    assert silenced.state == "suppressed"
    assert silenced.silenced_by == ("4c0a02f1-ea28-4720-8a99-553ce400c49d",)
    assert silenced.generator_url == "http://prom/graph"
    assert silenced.receivers == ("null",)
    assert plain.annotations == {} and plain.silenced_by == () and plain.state == "active"


def test_times_with_and_without_fractions_and_with_nanoseconds():
    body = json.dumps(
        [
            {"labels": {"a": "1"}, "startsAt": "2026-11-27T03:00:00Z"},
            {"labels": {"a": "2"}, "startsAt": "2026-11-27T03:00:00.5Z"},
            {"labels": {"a": "3"}, "startsAt": "2026-11-27T03:00:00.123456789Z"},  # Go's RFC3339Nano
            {"labels": {"a": "4"}, "startsAt": "2026-11-27T04:00:00+01:00"},
        ]
    )
    starts = [a.starts_at for a in parse_alerts(body)]
    assert starts[0] == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert starts[1] == datetime(2026, 11, 27, 3, 0, 0, 500000, tzinfo=UTC)
    assert starts[2] == datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)
    assert starts[3] == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_go_zero_time_means_not_set():
    (alert,) = parse_alerts(
        '[{"labels":{"a":"b"},"startsAt":"0001-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00.000Z"}]'
    )
    assert alert.starts_at is None and alert.ends_at is None


def test_unknown_fields_nulls_and_empty_lists_are_fine():
    body = json.dumps(
        [
            {
                "labels": {"alertname": "X"},
                "annotations": None,
                "receivers": None,
                "someFutureField": {"x": [1]},
                "status": {"state": "unprocessed", "silencedBy": None, "inhibitedBy": [], "mutedBy": ["new"]},
            }
        ]
    )
    (alert,) = parse_alerts(body)
    assert alert.annotations == {} and alert.receivers == () and alert.silenced_by == ()
    assert alert.state == "unprocessed"
    assert parse_alerts("[]") == ()


def test_missing_fingerprint_is_the_one_alertmanager_computes():
    # Both fingerprints below were computed by Alertmanager 0.25 for these label sets.
    assert labelset_fingerprint({"alertname": "NoStart", "severity": "page"}) == "088c36f2ac3146b1"
    labels = {"alertname": "HighErrorRate", "instance": "a:1", "service": "identity", "severity": "critical"}
    assert labelset_fingerprint(labels) == "e7ef66ca8e78a1d6"
    (alert,) = parse_alerts(json.dumps([{"labels": labels}]))
    assert alert.fingerprint == "e7ef66ca8e78a1d6"


def test_alerts_are_frozen():
    (alert,) = parse_alerts('[{"labels":{"a":"b"}}]')
    with pytest.raises(AttributeError):
        alert.fingerprint = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "body, says",
    [
        (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></html>", "HTML page"),
        (REAL_ALERTS[:300].encode(), "ends early"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\xff\xfe[]", "not UTF-8"),
        (b'{"status":"success","data":[]}', "expected a JSON list of alerts, got an object (keys: status, data)"),
        (b"[1]", "alert 0 is a number"),
        (b'[{"labels":{}}]', "alert 0 has no labels"),
        (b'[{"labels":{"a":1}}]', "labels.a is a number, not text"),
        (b'[{"labels":{"alertname":"X"},"startsAt":"yesterday"}]', "alert 0 (X): startsAt is not a time"),
        (b'[{"labels":{"alertname":"X"},"startsAt":17}]', "startsAt is a number"),
        (b'[{"labels":{"alertname":"X"},"status":{"silencedBy":"abc"}}]', "silencedBy is not a list"),
        (b'[{"labels":{"alertname":"X"},"status":["active"]}]', "status is a list"),
        (b"[" * 200_000, "nested too deeply"),
        (b'[{"labels":{"a":"b"}} {"labels":{}}]', "malformed JSON at character"),
    ],
)
def test_malformed_payloads_say_what_they_are(body, says):
    with pytest.raises(AlertPayloadError) as err:
        parse_alerts(body)
    assert says in str(err.value)


def test_a_ten_megabyte_payload_parses_or_fails_cleanly():
    one = {"labels": {"alertname": "Big", "i": "0"}, "annotations": {"description": "x" * 1000}}
    body = json.dumps([{**one, "labels": {"alertname": "Big", "i": str(i)}} for i in range(10_000)])
    assert len(body) > 10_000_000
    assert len(parse_alerts(body)) == 10_000
    with pytest.raises(AlertPayloadError, match="ends early"):
        parse_alerts(body[:-1])


def test_silences_by_id():
    silences = parse_silences(REAL_SILENCES)
    s = silences["4c0a02f1-ea28-4720-8a99-553ce400c49d"]
    assert (s.created_by, s.comment, s.state) == ("bob", "INC-3 acknowledged", "active")
    assert s.ends_at == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    with pytest.raises(AlertPayloadError, match="silence 0 has no id"):
        parse_silences('[{"createdBy":"bob"}]')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)
alert_keys = st.sampled_from(
    ["labels", "annotations", "startsAt", "endsAt", "updatedAt", "fingerprint", "status", "receivers", "generatorURL"]
)
alertish = st.dictionaries(alert_keys, json_values | st.dictionaries(st.text(max_size=8), st.text(max_size=8)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.lists(alertish, max_size=5)))
def test_any_json_gives_alerts_or_a_payload_error(data):
    body = json.dumps(data)
    try:
        alerts = parse_alerts(body)
    except AlertPayloadError as exc:
        assert str(exc)
        return
    assert all(isinstance(a, Alert) and a.labels and a.fingerprint for a in alerts)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_give_alerts_or_a_payload_error(body):
    try:
        parse_alerts(body)
    except AlertPayloadError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(REAL_ALERTS) - 1))
def test_a_real_payload_cut_anywhere_is_a_payload_error(cut):
    with pytest.raises(AlertPayloadError):
        parse_alerts(REAL_ALERTS[:cut])
