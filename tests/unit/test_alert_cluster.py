"""Alertmanager as production runs it, below the network: several URLs, matchers, stream parsing,
merging a cluster's answers, restart grace, maintenance clocks, storms grouped, silences' fates."""

from __future__ import annotations

import argparse
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.alerts.client import AlertmanagerClient
from oncall_tui.alerts.intake import Intake, intake_for, merge_alerts, merge_silences
from oncall_tui.alerts.matchers import MatcherError, all_match, from_api, parse_matchers
from oncall_tui.alerts.parse import Alert, AlertPayloadError, AlertStream, Silence
from oncall_tui.alerts.poller import SourceHealth, State, describe_cluster
from oncall_tui.alerts.reconcile import load_tracked, plan, reconcile
from oncall_tui.config import DeskOptions, alertmanager_urls, options_from_args
from oncall_tui.desk import ActionRefused
from oncall_tui.model import Severity, Status
from oncall_tui.policy import PolicyError, load_policy
from oncall_tui.store import Store
from oncall_tui.verify import verify_store

T_FIRE = datetime(2026, 11, 27, 2, 50, tzinfo=UTC)  # before the desk's frozen 03:00


def fire(fp="fp1", *, severity="critical", silenced_by=(), inhibited_by=(), updated=None, **labels) -> Alert:
    labels = {"alertname": "IdentityHighErrorRate", "severity": severity, "service": "identity", **labels}
    return Alert(
        fp,
        labels,
        {"summary": "Login errors"},
        T_FIRE,
        updated_at=updated,
        silenced_by=tuple(silenced_by),
        inhibited_by=tuple(inhibited_by),
    )


# --- several URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, urls",
    [
        ("http://am-1:9093", ("http://am-1:9093",)),
        ("http://am-1:9093, http://am-2:9093", ("http://am-1:9093", "http://am-2:9093")),
        (
            ["http://am-1:9093", "http://am-2:9093,http://am-3:9093"],
            ("http://am-1:9093", "http://am-2:9093", "http://am-3:9093"),
        ),
        (["a:1", "a:1"], ("a:1",)),
        ("", ()),
        (None, ()),
    ],
)
def test_alertmanager_urls_from_any_shape_never_a_traceback(given, urls):
    assert alertmanager_urls(given) == urls
    assert DeskOptions(db_path="x.db", alertmanager_url=given).alertmanager_urls == urls


def test_repeated_flags_and_a_config_list(tmp_path, monkeypatch):
    from oncall_tui.cli import build_parser

    args = build_parser().parse_args(["--alertmanager", "http://am-1:9093", "--alertmanager", "http://am-2:9093"])
    assert options_from_args(args).alertmanager_urls == ("http://am-1:9093", "http://am-2:9093")
    config = tmp_path / "home" / ".config" / "oncall-tui"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[alertmanager]\nurl = ["http://am-1:9093", "http://am-2:9093"]\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    assert options_from_args(argparse.Namespace()).alertmanager_urls == ("http://am-1:9093", "http://am-2:9093")


@pytest.mark.anyio
async def test_a_comma_separated_url_opens_an_intake_of_two(desk):
    intake = intake_for(
        desk, DeskOptions(db_path=desk.store.info.path, alertmanager_url="http://127.0.0.1:1, 127.0.0.1:2")
    )
    try:
        assert [s.client.url for s in intake.sources] == ["http://127.0.0.1:1", "http://127.0.0.1:2"]
        assert [h.state for h in intake.health] == [State.STARTING, State.STARTING]
    finally:
        await intake.aclose()


# --- matchers -------------------------------------------------------------------------------------


def test_matchers_in_alertmanagers_syntax():
    ms = parse_matchers('{team="db", severity=~"critical|page", env!="staging", job!~"test.*"}')
    assert [str(m) for m in ms] == ['team="db"', 'severity=~"critical|page"', 'env!="staging"', 'job!~"test.*"']
    assert all_match(ms, {"team": "db", "severity": "page", "env": "prod", "job": "api"})
    assert not all_match(ms, {"team": "db", "severity": "pagey", "env": "prod"})  # anchored, as Alertmanager's
    assert not all_match(ms, {"team": "db", "severity": "page", "env": "prod", "job": "test-1"})
    assert parse_matchers("team=db, tier=1") == parse_matchers('{team="db",tier="1"}')
    assert parse_matchers("") == ()


@pytest.mark.parametrize("bad", ['{team="db"', "team", 'team="db" env="x"', 'team=~"("', 'team="open'])
def test_a_bad_filter_is_refused_at_load_with_where(bad, tmp_path):
    with pytest.raises(MatcherError):
        parse_matchers(bad)
    user = tmp_path / "policy.toml"
    user.write_text(f"[alerts]\nfilter = {json.dumps(bad)}\n")
    with pytest.raises(PolicyError, match=r"\[alerts\] filter"):
        load_policy(user)


def test_a_silences_matchers_from_the_api():
    ms = from_api([{"name": "alertname", "value": "Disk.*", "isRegex": True, "isEqual": True}])
    assert all_match(ms, {"alertname": "DiskFilling"}) and not all_match(ms, {"alertname": "CPU"})
    assert not all_match(from_api([{"name": "a", "value": "(", "isRegex": True}]), {"a": "("})


# --- stream parsing -------------------------------------------------------------------------------


def payload(n: int) -> bytes:
    return json.dumps(
        [
            {"labels": {"alertname": f"A{i}"}, "fingerprint": f"{i:016x}", "status": {"state": "active"}}
            for i in range(n)
        ]
    ).encode()


@pytest.mark.parametrize("chunk", [1, 13, 4096, 1 << 20])
def test_alerts_are_parsed_as_they_arrive_in_any_chunking(chunk):
    body = payload(300)
    stream = AlertStream()
    for at in range(0, len(body), chunk):
        stream.feed(body[at : at + chunk])
        assert len(stream._text) < 4096 + chunk  # the buffer holds about one alert, not the answer
    alerts = stream.close()
    assert len(alerts) == 300 and alerts[-1].name == "A299"


def test_a_cut_reply_keeps_the_alerts_before_the_cut():
    body = payload(100)
    stream = AlertStream()
    stream.feed(body[: len(body) // 2])
    assert 40 < len(stream.alerts) < 60
    with pytest.raises(AlertPayloadError, match="ends early"):
        stream.close()


@pytest.mark.parametrize(
    "body, says",
    [
        (b"<html><title>x</title></html>", "HTML page"),
        (b'{"status": "success"}', "expected a JSON list of alerts"),
        (b'[{"labels": {"a": "b"}} x]', "malformed JSON"),
        (b"[1]", "alert 0 is a number"),
        (b"", "empty"),
        (b'[{"labels": {"a": "\xff"}}]', "not UTF-8"),
    ],
)
def test_garbage_says_what_it_is(body, says):
    stream = AlertStream()
    with pytest.raises(AlertPayloadError, match=says):
        stream.feed(body)
        stream.close()


# --- a cluster's answers --------------------------------------------------------------------------


def test_merging_a_clusters_alerts_by_fingerprint():
    t = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    one = [fire("a", updated=t), fire("b", updated=t)]
    two = [fire("a", updated=t + timedelta(seconds=5), silenced_by=["s1"]), fire("c", updated=t)]
    merged = {a.fingerprint: a for a in merge_alerts([one, two])}
    assert sorted(merged) == ["a", "b", "c"]  # one of each: none lost, none twice
    assert merged["a"].silenced_by == ("s1",) and merged["a"].state == "suppressed"  # a peer applied it first
    assert merged["a"].starts_at == T_FIRE
    later = replace(fire("a", updated=t + timedelta(seconds=9)), starts_at=T_FIRE + timedelta(milliseconds=3))
    # Peers stamp their own start when Prometheus sends none: the alert began at the first one's.
    assert merge_alerts([[later], one])[0].starts_at == T_FIRE
    late = Silence("s1", "bob", "x", "expired", None, t, updated_at=t + timedelta(minutes=1))
    early = Silence("s1", "bob", "x", "active", None, t + timedelta(hours=1), updated_at=t)
    assert merge_silences([{"s1": late}, {"s1": early}])["s1"].state == "expired"


def test_the_cluster_indicator_is_short_and_whole():
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    up, down = SourceHealth("http://a", State.OK), SourceHealth("http://b", State.DOWN, error="connection refused")
    assert describe_cluster((up,), now) == ""
    assert describe_cluster((up, down), now) == "1/2"
    settling = replace(up, grace_until=now + timedelta(seconds=40))
    assert settling.in_grace(now) and not settling.in_grace(now + timedelta(seconds=40))
    assert describe_cluster((settling, up), now) == "2/2 restarted, settling 40s"


def test_an_alert_last_seen_on_an_alertmanager_now_away_is_not_stopped(desk):
    reconcile(desk, [fire("a"), fire("b", alertname="Other")])
    assert plan(desk, [fire("a")], unsure=frozenset({"b"})) == []
    assert plan(desk, [], complete=False) == []  # a partial view flags nothing
    (step,) = plan(desk, [fire("a")])
    assert step.kind == "alert_resolved"


# --- maintenance, storms ----------------------------------------------------------------------------


def test_a_maintenance_incident_has_no_clock_until_it_goes_live(desk, clock):
    reconcile(desk, [fire(inhibited_by=["host-down"])])
    clock.advance(hours=3)
    inc = desk.get(1)
    deadlines = desk.deadlines(inc)
    assert deadlines.breached == () and deadlines.next_due is None and deadlines.escalation.index == 0
    reconcile(desk, [fire()])
    inc = desk.get(1)
    assert inc.live_at == clock.now()
    assert desk.deadlines(inc).get("acknowledge").due_at == clock.now() + desk.policy.acknowledge
    clock.advance(minutes=6)
    assert "acknowledge" in [d.key for d in desk.deadlines(desk.get(1)).breached]  # counted from going live


def test_a_graver_member_raises_its_groups_severity(desk):
    desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, group_by=("service",)))
    reconcile(desk, [fire("a", severity="warning")])
    assert desk.get(1).severity is Severity.P2
    outcome = reconcile(desk, [fire("a", severity="warning"), fire("b", severity="page", alertname="DBDown")])
    assert [c.kind for c in outcome.changes] == ["alert_fired", "alert_severity_raised"]
    assert desk.get(1).severity is Severity.P0 and len(desk.incidents()) == 1
    assert "DBDown joined at P0: severity raised from P2" in outcome.changes[-1].text
    more = reconcile(desk, [fire("a"), fire("b", severity="page"), fire("c", severity="info", instance="x")])
    assert [c.kind for c in more.changes] == ["alert_fired"]  # a milder one never lowers it
    assert verify_store(desk.store).rows == ()  # the raise replays from the timeline


def test_a_storm_under_group_by_is_a_few_incidents(desk):
    desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, group_by=("alertname",)))
    storm = [fire(f"{i:04x}", alertname=f"Alert{i % 3}", instance=f"host-{i}") for i in range(3000)]
    reconcile(desk, storm)
    assert len(desk.incidents()) == 3


# --- the store ----------------------------------------------------------------------------------------


def test_a_refused_action_inside_a_batch_is_undone_alone(desk):
    with desk.store.batch():
        desk.declare("first")
        with pytest.raises(ActionRefused):
            desk.declare("")  # refused before writing
        with pytest.raises(sqlite3.IntegrityError), desk.store.write():
            desk.store.conn.execute("INSERT INTO events (incident) VALUES (1)")  # half an event
        desk.declare("second")
    assert [i.title for i in desk.incidents()] == ["first", "second"]
    assert verify_store(desk.store).breaks == ()


def test_a_desk_file_of_schema_1_upgrades(tmp_path):
    import sqlite_utils

    from oncall_tui.store import sqlite as store_module

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    store_module._migrate_1(sqlite_utils.Database(conn))
    conn.execute(f"PRAGMA application_id = {store_module.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    upgraded = Store.open(path)
    try:
        assert upgraded.info.migrated_from == 1
        assert len(upgraded.desk_id()) == 8 and upgraded.alert_silences() == []
        assert "live_at" in {r[1] for r in upgraded.conn.execute("PRAGMA table_info(incidents)")}
    finally:
        upgraded.close()


# --- the desk's own silence's fate ------------------------------------------------------------------


def own_silenced(desk, sid="s1", ends="2026-11-27T05:00:00Z"):
    reconcile(desk, [fire()])
    desk.acknowledge(1)
    desk.act(1, "silence_created", lambda inc, now: ({"silence_id": sid}, {"silence_id": sid, "ends_at": ends}))
    with desk.store.write():
        desk.store.put_alert_silence(
            1,
            {
                "silence_id": sid,
                "created_by": "alice",
                "comment": "INC-1 acknowledged",
                "starts_at": "2026-11-27T03:00:00Z",
                "ends_at": ends,
                "state": "active",
                "own": 1,
            },
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "state, ends, reason",
    [
        ("expired", datetime(2026, 11, 27, 5, 0, tzinfo=UTC), "lapsed"),  # ran out: the desk was not there to renew
        ("expired", datetime(2026, 11, 27, 3, 10, tzinfo=UTC), "expired_elsewhere"),  # someone ended it early
        (None, None, "lost"),  # no Alertmanager knows it any more
    ],
)
async def test_the_desks_silence_ending_is_on_the_timeline(desk, state, ends, reason):
    own_silenced(desk)
    intake = Intake(desk, AlertmanagerClient("http://127.0.0.1:1"))
    try:
        if state:
            intake.silences = {"s1": Silence("s1", "alice", "x", state, T_FIRE, ends)}
        changes = intake._track_silences([fire()], load_tracked(desk), True, [])
    finally:
        await intake.aclose()
    assert [c.kind for c in changes] == ["silence_ended"]
    assert desk.timeline(1)[-1].details["reason"] == reason and desk.get(1).silence_id == ""
    assert verify_store(desk.store).rows == ()


@pytest.mark.anyio
async def test_an_unread_silence_list_concludes_nothing(desk):
    own_silenced(desk)
    intake = Intake(desk, AlertmanagerClient("http://127.0.0.1:1"))
    try:
        assert intake._track_silences([fire()], load_tracked(desk), False, []) == []
    finally:
        await intake.aclose()
    assert desk.get(1).silence_id == "s1"


def test_acknowledged_by_a_silence_reads_so(desk):
    sid = "s9"
    theirs = {
        sid: Silence(sid, "dave", "INC-3 acknowledged by dave on the on-call desk 0a0b0c0d: x", "active", None, None)
    }
    reconcile(desk, [fire()])
    reconcile(desk, [fire(silenced_by=[sid])], silences=theirs)
    from oncall_tui.event_text import describe

    ack = desk.timeline(1)[-1]
    assert (ack.kind, ack.actor) == ("acknowledged", "dave")
    assert describe(ack)[0].startswith("Acknowledged through an Alertmanager silence (someone has it)")
    assert desk.get(1).status is Status.ACKNOWLEDGED


@pytest.mark.anyio
async def test_a_storm_imports_in_batches_the_gravest_first(desk):
    import httpx

    from oncall_tui.clock import iso

    items = [
        {
            "labels": {"alertname": "Noise", "severity": "info", "instance": f"h{i}"},
            "fingerprint": f"{i:016x}",
            "startsAt": iso(T_FIRE),
            "status": {"state": "active"},
        }
        for i in range(450)
    ]
    items.append({"labels": {"alertname": "PaymentsDown", "severity": "page"}, "startsAt": iso(T_FIRE)})
    body = json.dumps(items).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/alerts"):
            return httpx.Response(200, content=body)
        return httpx.Response(200, content=b"[]" if request.url.path.endswith("/silences") else b"{}")

    intake = Intake(desk, AlertmanagerClient("http://am.test", transport=httpx.MockTransport(answer)))
    batches: list[list[str]] = []
    intake.on_batch = lambda changes: batches.append([c.text for c in changes])
    try:
        result = await intake.pull()
    finally:
        await intake.aclose()
    assert len(result.changes) == 451 and len(batches) == 4  # 100 a transaction; the last is the pull's
    assert "PaymentsDown" in batches[0][0]  # the P0 lands first, whatever its place in the reply
