"""Triage that knows the runbook: tenants affected, the severity suggestion, roles, fired-before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui import templates
from oncall_tui.alerts.parse import Alert
from oncall_tui.alerts.reconcile import reconcile
from oncall_tui.desk import ActionRefused, Conflict, Desk
from oncall_tui.event_text import describe
from oncall_tui.export_review import factor_list, render_markdown
from oncall_tui.fired_before import fired_before
from oncall_tui.model import Severity, Status
from oncall_tui.policy import PolicyError, load_policy
from oncall_tui.store import SCHEMA_VERSION, Store
from oncall_tui.suggestion import suggest, suggest_for
from oncall_tui.tenants import Tenants, editable_text, format_tenants, parse_tenants, tenants_from_labels

T_FIRE = datetime(2026, 11, 27, 2, 50, tzinfo=UTC)


def fire(fp="fp1", *, starts_at=T_FIRE, summary="Login errors above 5%", **labels) -> Alert:
    labels = labels or {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity"}
    return Alert(fp, labels, {"summary": summary}, starts_at)


# --- tenants ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names", "affected", "shown"),
    [
        ("", (), 0, ""),
        ("acme", ("acme",), 1, "acme"),
        ("acme, globex,acme", ("acme", "globex"), 2, "acme, globex"),
        ("40", (), 40, "40 tenants"),
        ("40 tenants", (), 40, "40 tenants"),
        ("1 tenant", (), 1, "1 tenant"),
        ("40: acme, globex", ("acme", "globex"), 40, "40 tenants: acme, globex"),
        ("40 (acme, globex)", ("acme", "globex"), 40, "40 tenants: acme, globex"),
        ("2: acme, globex", ("acme", "globex"), 2, "acme, globex"),  # the count adds nothing
        ("3com, acme", ("3com", "acme"), 2, "3com, acme"),  # a name that starts with a digit
    ],
)
def test_tenants_are_written_as_names_a_count_or_both(text, names, affected, shown):
    t = parse_tenants(text)
    assert (t.names, t.affected, str(t)) == (names, affected, shown)
    assert parse_tenants(editable_text(t.names, t.count)) == t  # what an edit box starts from reads back
    assert parse_tenants(str(t)) == t  # and so does what the ticket shows


@pytest.mark.parametrize("text", ["acme, 12", "3: a, b, c, d"])
def test_tenant_text_that_cannot_be_read_says_what_can(text):
    with pytest.raises(ValueError, match="tenants"):
        parse_tenants(text)


def test_long_tenant_lists_are_shown_cut_with_the_count():
    assert format_tenants(("a", "b", "c", "d"), limit=2) == "4 tenants: a, b, …"


def test_tenant_labels_name_tenants_and_may_list_several():
    labelsets = [{"tenant": "acme"}, {"customer": "globex, initech"}, {"tenant": "acme"}, {"other": "x"}]
    assert tenants_from_labels(labelsets, ("tenant", "customer")) == ("acme", "globex", "initech")


def test_declare_and_edit_record_tenants_on_the_timeline(desk):
    inc = desk.declare("Login failures", tenants="acme, globex")
    assert (inc.tenants, inc.tenants_affected) == (("acme", "globex"), 2)
    inc = desk.edit(inc.number, "tenants", "40: acme, globex", expected="acme, globex")
    assert (inc.tenants, inc.tenant_count, inc.tenants_affected) == (("acme", "globex"), 40, 40)
    declared, edited = desk.timeline(inc.number)
    assert describe(declared)[0] == "Declared: Login failures; tenants: acme, globex"
    assert describe(edited)[0] == "Tenants affected: 40 tenants: acme, globex"
    with pytest.raises(Conflict, match="tenants affected was changed by alice"):
        desk.set_tenants(inc.number, "acme", expected="acme, globex")
    with pytest.raises(ActionRefused, match="cannot read"):
        desk.set_tenants(inc.number, "acme, 12")
    assert desk.set_tenants(inc.number, "40: acme, globex").version == inc.version  # unchanged: nothing written


def test_an_alert_names_its_tenants_and_a_group_merges_them(desk, policy):
    grouped = Desk(desk.store, policy.__class__(**{**_fields(policy), "alerts": _grouped(policy)}), desk.clock)
    a = fire("fp1", alertname="ApiErrors", severity="critical", service="api", tenant="acme")
    reconcile(grouped, [a])
    (inc,) = grouped.incidents()
    assert inc.tenants == ("acme",)
    b = fire("fp2", alertname="ApiErrors", severity="critical", service="api", tenant="globex")
    c = fire("fp3", alertname="ApiErrors", severity="critical", service="api", customer="initech, acme")
    reconcile(grouped, [a, b, c])
    inc = grouped.get(inc.number)
    assert inc.tenants == ("acme", "globex", "initech")
    assert "tenants globex, initech, acme" in describe(grouped.timeline(inc.number)[-1])[0]
    # A tenant leaving the group (its alert resolved) does not shrink what was affected.
    reconcile(grouped, [a])
    assert grouped.get(inc.number).tenants == ("acme", "globex", "initech")


def _fields(policy):
    from dataclasses import fields

    return {f.name: getattr(policy, f.name) for f in fields(policy)}


def _grouped(policy):
    from dataclasses import replace

    return replace(policy.alerts, group_by=("alertname",))


# --- the severity suggestion: one test per criterion ------------------------------------------------


def test_many_tenants_suggest_p0(policy):
    s = suggest(policy, title="API errors", tenants=3)
    assert (s.severity, s.criterion, s.because) == (
        Severity.P0,
        "Complete service outage affecting multiple tenants",
        "3 tenants affected",
    )


def test_the_runbooks_own_p0_words_suggest_p0(policy):
    s = suggest(policy, impact="Complete service outage affecting multiple tenants")
    assert (s.severity, s.because) == (Severity.P0, 'says "multiple tenants"')


def test_one_tenant_with_a_complete_outage_suggests_p1(policy):
    s = suggest(policy, title="Login down for acme", impact="Complete outage: nobody at acme can log in", tenants=1)
    assert (s.severity, s.criterion) == (Severity.P1, "Single tenant complete outage")
    assert s.because == '1 tenant affected, says "complete outage"'
    # One tenant without an outage is not this criterion.
    assert suggest(policy, title="Report export slow", tenants=1) is None


@pytest.mark.parametrize(
    ("impact", "criterion"),
    [
        ("Possible security breach: tokens leaked in logs", "Security breach or data compromise"),
        ("Audit store write failed: legal evidence integrity at risk", "Loss of legal evidence integrity"),
        ("Retention job deleted records early: compliance violation", "Compliance violation"),
    ],
)
def test_security_legal_evidence_and_compliance_words_suggest_p0(policy, impact, criterion):
    s = suggest(policy, impact=impact)
    assert (s.severity, s.criterion) == (Severity.P0, criterion)


@pytest.mark.parametrize(
    ("labels", "criterion"),
    [
        ({"security_breach": "true"}, "Security breach or data compromise"),
        ({"legal_hold": "yes"}, "Loss of legal evidence integrity"),
        ({"compliance": "violation"}, "Compliance violation"),
    ],
)
def test_security_legal_and_compliance_flags_on_the_alert_suggest_p0(policy, labels, criterion):
    s = suggest(policy, title="Something odd", labels=labels)
    assert (s.severity, s.criterion) == (Severity.P0, criterion)
    assert s.because.startswith("alert label ")
    assert suggest(policy, title="Something odd", labels={k: "false" for k in labels}) is None


def test_an_individual_user_suggests_p2(policy):
    s = suggest(policy, impact="An individual user cannot reset their password")
    assert (s.severity, s.criterion) == (Severity.P2, "Individual user access problems")


def test_a_workaround_suggests_p3_but_no_workaround_does_not(policy):
    s = suggest(policy, impact="CSV export fails; workaround: export as XLSX")
    assert (s.severity, s.criterion) == (Severity.P3, "Minor service issues with workaround")
    assert suggest(policy, impact="CSV export fails and there is no workaround") is None


def test_the_more_severe_criterion_wins_when_several_match(policy):
    s = suggest(policy, impact="Complete outage, workaround: use the EU region", tenants=5)
    assert s.severity is Severity.P0


def test_words_match_whole_words_only(policy):
    assert suggest(policy, title="Slowdown on reports", tenants=1) is None  # "down" is not "slowdown"
    assert suggest(policy, impact="minority of requests fail") is None  # "minor" is not "minority"


def test_nothing_matching_suggests_nothing(policy):
    assert suggest(policy, title="Disk 80% full") is None


def test_a_teams_own_criteria_drive_the_suggestion(tmp_path):
    own = tmp_path / "policy.toml"
    own.write_text(
        '[[suggest]]\nseverity = "P1"\ncriterion = "Payments failing"\nwords = ["payment"]\n', encoding="utf-8"
    )
    policy = load_policy(own)
    assert suggest(policy, title="Payment API 500s").criterion == "Payments failing"
    assert suggest(policy, title="x", tenants=9) is None  # the shipped rules were replaced, not merged


def test_a_rule_without_a_condition_is_refused_with_the_file(tmp_path):
    own = tmp_path / "policy.toml"
    own.write_text('[[suggest]]\nseverity = "P1"\ncriterion = "Always"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policy.toml: .*'Always' has no condition"):
        load_policy(own)
    own.write_text('[[suggest]]\nseverity = "P1"\ncriterion = "X"\nwordz = ["a"]\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="unknown key 'wordz'"):
        load_policy(own)


def test_suggest_for_reads_the_incident_and_never_sets_anything(desk):
    inc = desk.declare("Login failures", impact="Complete outage for acme", tenants="acme")
    assert suggest_for(desk.policy, inc).severity is Severity.P1
    assert desk.get(inc.number).severity is None


@pytest.mark.parametrize(
    ("text", "sev"), [("critical", "P0"), ("High", "P1"), ("medium", "P2"), ("low", "P3"), ("sev1", "P1"), ("2", "P2")]
)
def test_severity_names_are_accepted(policy, text, sev):
    assert policy.parse_severity(text) is Severity(sev)


# --- roles --------------------------------------------------------------------------------------


def test_roles_come_from_the_policy_and_are_found_by_id_name_or_initials(policy):
    assert [r.id for r in policy.roles] == ["commander", "comms", "scribe"]
    assert policy.role("Incident commander").id == "commander"
    assert policy.role("ic").id == "commander"
    assert policy.role("COMMS").id == "comms"
    with pytest.raises(ValueError, match="unknown role 'chef': use one of commander, comms, scribe"):
        policy.role("chef")


def test_assigning_a_role_is_on_the_ticket_and_the_timeline(desk):
    inc = desk.declare("Login failures")
    inc = desk.set_role(inc.number, "commander", "dana")
    inc = desk.set_role(inc.number, "scribe", "sam")
    assert inc.roles == {"commander": "dana", "scribe": "sam"}
    inc = desk.set_role(inc.number, "commander", "ava", expected="dana")
    with pytest.raises(Conflict):
        desk.set_role(inc.number, "commander", "bob", expected="dana")
    inc = desk.set_role(inc.number, "scribe", "")
    assert inc.roles == {"commander": "ava"}
    lines = [describe(e)[0] for e in desk.timeline(inc.number)[1:]]
    assert lines == [
        "Incident commander: dana",
        "Scribe: sam",
        "Incident commander: ava (was dana)",
        "Scribe: sam stood down",
    ]
    with pytest.raises(ActionRefused, match="unknown role"):
        desk.set_role(inc.number, "chef", "x")


def test_templates_can_use_roles_and_tenants(desk, policy, tmp_path):
    inc = desk.declare(
        "Login failures", severity="P1", services=["identity"], impact="Logins fail", tenants="3", assignee="bob"
    )
    desk.set_role(inc.number, "commander", "dana")
    own = tmp_path / "t"
    own.mkdir()
    (own / "roles.j2").write_text(
        "IC {{ roles.commander }}, comms {{ roles.comms or 'unassigned' }}, {{ role_names.scribe }};"
        " {{ tenants_affected }}\n",
        encoding="utf-8",
    )
    lib = templates.TemplateLibrary([own])
    msg = templates.compose(lib, "roles", desk.get(inc.number), policy=policy, now=desk.now())
    assert msg.text == "IC dana, comms unassigned, Scribe; 3 tenants"
    initial = templates.compose(lib, "initial", desk.get(inc.number), policy=policy, now=desk.now()).text
    assert "- Tenants affected: 3 tenants\n" in initial
    assert initial.endswith("- Incident commander: dana")
    # Without tenants or a commander, the runbook's Initial Alert is exactly its template.
    plain = desk.declare("Other", severity="P1", services=["api"], impact="x", assignee="bob")
    text = templates.compose(lib, "initial", plain, policy=policy, now=desk.now()).text
    assert "Tenants" not in text and text.endswith("- Assigned: bob")


def test_tenants_is_a_template_field_that_saves_to_the_incident(desk, policy, tmp_path):
    own = tmp_path / "t"
    own.mkdir()
    (own / "t.j2").write_text('{#---\nfields = ["tenants"]\n---#}\nTenants: {{ tenants }}\n', encoding="utf-8")
    lib = templates.TemplateLibrary([own])
    inc = desk.declare("x", tenants="acme")
    assert lib.get("t").fields[0].incident_field == "tenants"
    assert templates.compose(lib, "t", inc, policy=policy, now=desk.now()).text == "Tenants: acme"


# --- the review document ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("Rotation ran at peak\nNo alert on cache size", ["Rotation ran at peak", "No alert on cache size"]),
        ("- one\n* two\n3. three", ["one", "two", "three"]),
        ("peak traffic; no alert; manual refill", ["peak traffic", "no alert", "manual refill"]),
        ("one factor", ["one factor"]),
        ("", []),
    ],
)
def test_contributing_factors_become_a_list(text, items):
    assert factor_list(text) == items


def test_markdown_review_lists_factors_roles_and_tenants(desk):
    inc = desk.declare("Login failures", severity="P2", tenants="acme, globex")
    desk.edit(inc.number, "contributing_factors", "Rotation ran at peak\nNo alert on cache size")
    desk.set_role(inc.number, "comms", "lee")
    doc = render_markdown(desk, inc.number)
    assert "## Contributing factors\n\n- Rotation ran at peak\n- No alert on cache size\n" in doc
    assert "| Tenants affected | acme, globex |" in doc
    assert "| Communications lead | lee |" in doc and "| Incident commander | — |" in doc


# --- has this fired before? ---------------------------------------------------------------------


def _close(desk, number, cause, fix):
    desk.acknowledge(number)
    desk.set_severity(number, "P2")
    desk.edit(number, "root_cause", cause)
    desk.edit(number, "resolution", fix)
    desk.move(number, Status.RESOLVED)
    desk.move(number, Status.CLOSED)


def test_an_alert_that_fired_before_brings_its_past_fixes(desk, clock):
    reconcile(desk, [fire("fp1")])
    _close(desk, 1, "JWKS cache empty after key rotation", "Refilled the cache")
    clock.advance(hours=30)
    other = {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity", "region": "eu"}
    reconcile(desk, [fire("fp9", starts_at=clock.now() - timedelta(minutes=1), **other)])  # same name, other labels
    _close(desk, 2, "Redis failover", "Pointed at the new primary")
    clock.advance(hours=30)
    reconcile(desk, [fire("fp7", starts_at=clock.now(), alertname="DiskFull", severity="warning")])  # unrelated
    reconcile(desk, [fire("fp1", starts_at=clock.now())])  # the same alert again
    now = desk.incidents()[-1]
    past = fired_before(desk.store, now)
    assert past.alertname == "IdentityHighErrorRate"
    assert past.count == 2 and past.same_alert_count == 1
    assert [p.incident.id for p in past.past] == ["INC-1", "INC-2"]  # the same alert ranks first
    assert [(p.incident.root_cause, p.incident.resolution) for p in past.fixes()] == [
        ("JWKS cache empty after key rotation", "Refilled the cache"),
        ("Redis failover", "Pointed at the new primary"),
    ]
    assert past.last.incident.id == "INC-2"
    first = desk.get(1)
    assert fired_before(desk.store, first).count == 0  # nothing before the first
    assert fired_before(desk.store, desk.declare("By hand")) is None  # a manual incident has no alert


# --- the desk file ------------------------------------------------------------------------------


def test_a_version_1_desk_file_upgrades_and_keeps_its_incidents(tmp_path, policy, clock):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    import sqlite_utils

    from oncall_tui.store import APPLICATION_ID, MIGRATIONS

    MIGRATIONS[0](sqlite_utils.Database(conn))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO incidents (number, title, status, started_at, declared_at, version, services, labels) "
        "VALUES (1, 'Old one', 'triggered', '2026-11-27T02:00:00Z', '2026-11-27T02:00:00Z', 1, '[]', '{}')"
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    assert store.info.migrated_from == 1 and SCHEMA_VERSION >= 2
    desk = Desk(store, policy, clock)
    old = desk.get(1)
    assert (old.title, old.tenants, old.tenant_count, old.roles) == ("Old one", (), 0, {})
    assert desk.set_tenants(1, "acme").tenants == ("acme",)
    store.close()


def test_tenants_value_object():
    assert Tenants(("a",), 3).affected == 3 and str(Tenants()) == ""


# --- monitoring is blind ------------------------------------------------------------------------


def test_blind_when_alertmanager_is_down_or_the_watchdog_is_gone(clock):
    from oncall_tui.alerts.blind import blind_reason
    from oncall_tui.alerts.poller import Health, State

    now = clock.now()
    ok = Health(state=State.OK, last_ok_at=now)
    assert blind_reason(ok, True, "Watchdog", now) == ""
    assert blind_reason(ok, None, "", now) == ""  # no Watchdog configured: nothing to miss
    assert "the always-firing Watchdog alert is gone" in blind_reason(ok, False, "Watchdog", now)
    down = Health(state=State.DOWN, last_ok_at=now - timedelta(minutes=3), error="connection refused")
    line = blind_reason(down, True, "Watchdog", now)
    assert line.startswith("MONITORING IS BLIND: Alertmanager cannot be reached for 3m00s (connection refused)")
    assert blind_reason(Health(), None, "Watchdog", now) == ""  # the first poll has not answered yet


def test_the_readme_says_how_to_set_escalation_contacts():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert 'contact = "' in readme and "[[escalation]]" in readme
