"""Runbooks as files: parsing, the shipped set, user directories, matching, search, the process checklist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oncall_tui.checklist import StepState, build_checklist, current_phase
from oncall_tui.runbooks import PROCESS_ID, RunbookError, RunbookLibrary, parse_runbook

# The seed runbook's symptom sections, word for word.
SEED_SYMPTOM_RUNBOOKS = {
    "identity-service-outage": (
        "Identity Service Outage",
        ["Users unable to authenticate"],
        ["JWKS cache failure", "Database connectivity issues", "WebAuthn provider problems"],
        [
            "Check database connectivity",
            "Verify JWKS cache status",
            "Check Redis connectivity",
            "Validate WebAuthn provider status",
            "If emergency, enable fallback authentication",
        ],
    ),
    "compliance-service-failure": (
        "Compliance Service Failure",
        ["Governance operations failing"],
        ["Policy evaluation timeouts", "Cache invalidation issues", "Emergency mode activation"],
        [
            "Check policy cache hit rate",
            "Verify policy CDN connectivity",
            "If in emergency mode, begin compliance validation",
            "Monitor for post-validation corrections",
        ],
    ),
    "database-performance-issues": (
        "Database Performance Issues",
        ["Slow API responses, timeouts"],
        ["Query performance", "Connection pool exhaustion", "Missing indexes"],
        [
            "Check database connection pool",
            "Review slow query logs",
            "Verify RLS policy performance",
            "Add indexes if needed",
            "Optimize queries",
        ],
    ),
}

SEED_PROCESS = [
    (
        "Detection and Notification",
        [
            "Monitoring system detects issue",
            "Alert routed to on-call engineer",
            "Engineer acknowledges within 5 minutes",
            "If unable to respond, escalate to next tier",
            "Determine severity level within 15 minutes",
        ],
    ),
    (
        "Initial Response",
        [
            "Verify issue exists and scope of impact",
            "Create incident ticket with:\n- Start time\n- Affected services\n- Initial impact assessment\n- Communication channel",
            "If P0 or P1, notify stakeholders within 15 minutes",
            "Begin initial mitigation efforts",
        ],
    ),
    (
        "Investigation",
        [
            "Collect relevant logs",
            "Identify root cause",
            "Determine resolution approach",
            "Estimate time to resolution",
            "Update incident ticket with findings",
        ],
    ),
    (
        "Resolution",
        [
            "Implement fix or workaround",
            "Verify resolution in test environment if applicable",
            "Deploy fix to production",
            "Monitor for recurrence",
            "Close incident when resolved",
        ],
    ),
    (
        "Follow-up",
        [
            "Conduct post-incident review",
            "Update runbooks with new information",
            "Identify prevention measures",
            "Update documentation",
        ],
    ),
    (
        "Post-Incident Review",
        [
            "Schedule review within 24-48 hours",
            "Include all relevant stakeholders",
            "Document timeline of events",
            "Identify contributing factors",
            "Define action items to prevent recurrence",
            "Update runbooks with new information",
        ],
    ),
]

NEW_RUNBOOK = """+++
id = "queue-backlog"
title = "Message Queue Backlog"
version = "1"

[match]
services = ["queue", "rabbitmq"]
alertnames = ["QueueBacklogGrowing"]
keywords = ["backlog"]
+++

## Symptoms
- Jobs finish minutes late

## Possible Causes
- Consumers crashed

## Steps
1. Check consumer count
2. Scale consumers
"""

BROKEN_RUNBOOK = """+++
id = "half-written"
title = "Half written
+++

## Steps
1. Something
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def library() -> RunbookLibrary:
    return RunbookLibrary()


# --- the shipped runbooks ---------------------------------------------------------------------


def test_shipped_runbooks_all_load_without_problems(library):
    assert library.problems == ()
    assert set(library.runbooks) == {PROCESS_ID, *SEED_SYMPTOM_RUNBOOKS}


@pytest.mark.parametrize("runbook_id", sorted(SEED_SYMPTOM_RUNBOOKS))
def test_shipped_symptom_runbooks_hold_the_seed_text(library, runbook_id):
    title, symptoms, causes, steps = SEED_SYMPTOM_RUNBOOKS[runbook_id]
    rb = library.get(runbook_id)
    assert rb.title == title
    assert list(rb.symptoms) == symptoms
    assert list(rb.causes) == causes
    assert [s.text for s in rb.steps] == steps
    assert [s.number for s in rb.steps] == list(range(1, len(steps) + 1))
    assert rb.version == "1"


def test_shipped_process_has_the_five_phases_and_the_review(library):
    process = library.process
    assert [(s.title, [st.text for st in s.steps]) for s in process.sections] == SEED_PROCESS
    assert [s.applies for s in process.sections] == ["", "", "", "", "", "review"]
    # Step numbers run across the whole process, so each is one key in the checks table.
    assert [s.number for s in process.steps] == list(range(1, 30))
    # Annotations are instructions for the desk, never part of the text a person reads.
    assert all("<!--" not in s.text for s in process.steps)


# --- parsing ----------------------------------------------------------------------------------


def test_parse_accepts_the_seed_inline_style_and_keeps_code_in_steps():
    text = """+++
id = "pasted"
title = "Pasted from the seed"
version = 3
+++
### Identity Service Outage
**Symptoms**: Users unable to authenticate
**Possible Causes**:
- JWKS cache failure

**Steps**:
1. Check database connectivity
2. Run:
   ```
   psql -c 'select 1'
   ```
3. Verify **JWKS** cache status
"""
    rb, remarks = parse_runbook(text, Path("pasted.md"))
    assert remarks == []
    assert rb.version == "3"
    assert rb.symptoms == ("Users unable to authenticate",)
    assert rb.causes == ("JWKS cache failure",)
    assert [s.text for s in rb.steps] == [
        "Check database connectivity",
        "Run:\n```\npsql -c 'select 1'\n```",
        "Verify **JWKS** cache status",
    ]
    assert rb.steps[1].headline == "Run:"


@pytest.mark.parametrize(
    "text, message",
    [
        ("## Steps\n1. x\n", "no front matter"),
        ('+++\nid = "a"\n', "front matter is not closed"),
        ('+++\nid = "a"\ntitle = "A\n+++\n1. x\n', "bad front matter: "),
        ('+++\nid = "a"\ntitle = "A"\n+++\n1. x\n', "front matter needs version"),
        ('+++\nid = "Not OK"\ntitle = "A"\nversion = "1"\n+++\n1. x\n', "id 'Not OK'"),
        ('+++\nid = "a"\ntitle = "A"\nversion = "1"\n+++\n## Steps\n- a bullet is not a step\n', "no steps"),
        ('+++\nid = "a"\ntitle = "A"\nversion = "1"\n[match]\nservices = 3\n+++\n1. x\n', "match.services"),
    ],
)
def test_parse_refuses_broken_files_with_a_reason(text, message):
    with pytest.raises(RunbookError, match=message.replace("(", r"\(")):
        parse_runbook(text, Path("broken.md"))


def test_bad_front_matter_reports_the_line_in_the_file():
    with pytest.raises(RunbookError, match=r"at line 3, column 9"):
        parse_runbook('+++\nid = "a"\ntitle = Oops\n+++\n1. x\n', Path("x.md"))


def test_unknown_keys_are_remarked_not_fatal():
    rb, remarks = parse_runbook(
        '+++\nid = "a"\ntitle = "A"\nversion = "1"\nmatches = 1\n[match]\nservice = ["x"]\n+++\n1. x\n', Path("a.md")
    )
    assert rb.id == "a"
    assert any("'matches'" in r for r in remarks) and any("match.service" in r for r in remarks)


# --- user directories -------------------------------------------------------------------------


def test_user_dir_adds_a_runbook_and_names_the_broken_file(tmp_path, desk):
    mine = tmp_path / "my-runbooks"
    write(mine, "queue-backlog.md", NEW_RUNBOOK)
    broken = write(mine, "half-written.md", BROKEN_RUNBOOK)
    library = RunbookLibrary([mine])

    assert "queue-backlog" in library.runbooks
    assert len(library.runbooks) == 5  # the shipped four still load
    [problem] = library.problems
    assert problem.path == broken and problem.skipped
    assert "half-written.md" in str(problem) and "bad front matter" in str(problem)

    incident = desk.declare("Jobs are late", services=["rabbitmq"])
    found = library.match(incident)
    assert found.runbook.id == "queue-backlog" and not found.chosen and found.confident


def test_a_later_directory_overrides_by_id(tmp_path):
    shipped = RunbookLibrary().get("identity-service-outage")
    override = (
        shipped.path.read_text()
        .replace('version = "1"', 'version = "2"')
        .replace("3. Check Redis connectivity", "3. Check Redis connectivity (redis-cli ping)")
    )
    write(tmp_path / "team", "identity.md", override)
    library = RunbookLibrary([tmp_path / "team"])
    rb = library.get("identity-service-outage")
    assert rb.version == "2" and rb.path.parent == tmp_path / "team"
    assert rb.steps[2].text == "Check Redis connectivity (redis-cli ping)"
    assert not library.is_shipped(rb)


def test_missing_dirs_the_user_named_are_reported(tmp_path):
    library = RunbookLibrary([tmp_path / "nope"])
    assert [p.message for p in library.problems] == ["no such directory"]


def test_reload_reads_only_what_changed(tmp_path):
    mine = tmp_path / "mine"
    path = write(mine, "queue-backlog.md", NEW_RUNBOOK)
    library = RunbookLibrary([mine])
    before = library.get("identity-service-outage")
    assert library.reload() is False

    path.write_text(NEW_RUNBOOK.replace("2. Scale consumers", "2. Scale consumers\n3. Drain the dead-letter queue"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert library.reload() is True
    assert library.get("queue-backlog").step_count == 3
    assert library.get("identity-service-outage") is before  # unchanged files are not parsed again

    path.unlink()
    library.reload()
    assert library.get("queue-backlog") is None


# --- matching ---------------------------------------------------------------------------------


def test_service_identity_matches_the_identity_runbook(desk, library):
    incident = desk.declare("Login failures", services=["identity"])
    found = library.match(incident)
    assert found.runbook.id == "identity-service-outage"
    assert not found.chosen and found.confident
    assert "service identity" in found.reasons


def test_the_incidents_own_symptom_wins_over_any_suggestion(desk, library):
    incident = desk.declare("Login failures", services=["identity"], symptom="database-performance-issues")
    found = library.match(incident)
    assert found.runbook.id == "database-performance-issues" and found.chosen
    assert found.suggestions[0].runbook.id == "identity-service-outage"  # still offered in the chooser


def test_alert_labels_match(desk, library):
    incident = desk.declare("Firing", labels={"alertname": "PolicyEvaluationTimeout", "severity": "page"})
    assert library.match(incident).runbook.id == "compliance-service-failure"


def test_title_words_alone_only_suggest(desk, library):
    found = library.match(desk.declare("API slow, timeouts on checkout"))
    assert found.runbook.id == "database-performance-issues"
    assert not found.confident  # words are a hint; the engineer confirms


def test_unknown_symptom_is_reported_and_nothing_matching_gives_none(desk, library):
    found = library.match(desk.declare("Printer on fire", symptom="printer-fire"))
    assert found.runbook is None and found.missing == "printer-fire"


def test_suggestions_are_ranked(library):
    ranked = library.suggest(title="Login slow: database timeouts", services=["postgres"])
    assert [s.runbook.id for s in ranked][:2] == ["database-performance-issues", "identity-service-outage"]
    assert ranked[0].score > ranked[1].score


def test_progress_counts_ticked_steps_of_the_matched_runbook(desk, library):
    inc = desk.declare("Login failures", services=["identity"])
    rb = library.match(inc).runbook
    for n in (1, 3):
        desk.check_step(inc.number, runbook=rb.id, version=rb.version, step=n, text=rb.step(n).text, checked=True)
    progress = library.progress(inc, desk.checked_counts())
    assert str(progress) == "2/5"
    assert library.progress(desk.declare("Printer on fire"), desk.checked_counts()) is None


# --- search -----------------------------------------------------------------------------------


def test_full_text_search(library):
    assert [h.runbook.id for h in library.search("redis")] == ["identity-service-outage"]
    hit = library.search("slow query")[0]
    assert hit.runbook.id == "database-performance-issues"
    assert [h.runbook.id for h in library.search("EMERGENCY")][0] == "compliance-service-failure"
    assert library.search("redis optimize") == []  # every word must be in the runbook
    assert len(library.search("")) == 4


# --- the process checklist --------------------------------------------------------------------


def test_process_steps_tick_themselves_from_the_record(desk, library, clock):
    inc = desk.declare("Login failures", services=["identity"])
    checklist = build_checklist(library.process, inc, desk.policy, set())
    assert checklist.current.title == "Detection and Notification"
    states = {i.step.headline: i.state for i in checklist.items}
    assert states["Monitoring system detects issue"] is StepState.DONE
    assert states["Engineer acknowledges within 5 minutes"] is StepState.OPEN

    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.set_severity(inc.number, "P1")
    desk.edit(inc.number, "impact", "No one can log in")
    desk.edit(inc.number, "channel", "#inc-login")
    inc = desk.record_message(inc.number, template="initial", text="[P1] …", via="clipboard")
    checklist = build_checklist(library.process, inc, desk.policy, {4})
    items = {i.step.headline: i for i in checklist.items}
    assert checklist.current.title == "Initial Response"
    assert items["Engineer acknowledges within 5 minutes"].why == "by alice at 03:02"
    assert items["Determine severity level within 15 minutes"].state is StepState.DONE
    assert items["Create incident ticket with:"].state is StepState.DONE
    assert items["If P0 or P1, notify stakeholders within 15 minutes"].state is StepState.DONE
    assert items["If unable to respond, escalate to next tier"].state is StepState.CHECKED
    assert items["Verify issue exists and scope of impact"].state is StepState.OPEN
    review = checklist.phases[-1]
    assert review.title == "Post-Incident Review" and review.applies


def test_checklist_knows_what_a_p3_does_not_need(desk, library):
    inc = desk.declare("Typo on the status page", severity="P3")
    desk.acknowledge(inc.number)
    inc = desk.get(inc.number)
    checklist = build_checklist(library.process, inc, desk.policy, set())
    items = {i.step.headline: i for i in checklist.items}
    assert items["If P0 or P1, notify stakeholders within 15 minutes"].state is StepState.NOT_NEEDED
    assert items["Create incident ticket with:"].why == "missing services, impact, channel"
    review = checklist.phases[-1]
    assert not review.applies and review.why == "no review for P3" and review.needed == 0


@pytest.mark.parametrize(
    "status, severity, phase",
    [
        ("triggered", None, 0),
        ("acknowledged", None, 0),
        ("acknowledged", "P2", 1),
        ("investigating", "P2", 2),
        ("mitigated", "P2", 3),
        ("resolved", "P2", 4),
        ("closed", "P2", None),
    ],
)
def test_current_phase_follows_the_status(desk, status, severity, phase):
    from oncall_tui.model import Severity, Status

    inc = desk.declare("x").replace(status=Status(status), severity=Severity(severity) if severity else None)
    assert current_phase(inc) == phase


# --- the command line -------------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("oncall-tui")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_declare_with_service_identity_records_the_runbook(cli_env, db_path, policy):
    done = run_cli(["declare", "Login failures", "--service", "identity", "--json"], cli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["symptom"] == "identity-service-outage"

    done = run_cli(["declare", "Something odd"], cli_env)
    assert done.returncode == 0
    assert json.loads(run_cli(["show", "INC-2", "--json"], cli_env).stdout)["symptom"] == ""

    done = run_cli(["declare", "x", "--symptom", "no-such-runbook"], cli_env)
    assert done.returncode == 1
    assert "no runbook 'no-such-runbook'" in done.stderr and "identity-service-outage" in done.stderr


def test_cli_runbooks_lists_user_runbooks_and_warns_about_broken_files(cli_env, tmp_path):
    mine = tmp_path / "mine"
    write(mine, "queue-backlog.md", NEW_RUNBOOK)
    write(mine, "half-written.md", BROKEN_RUNBOOK)

    done = run_cli(["runbooks", "--runbooks", str(mine)], cli_env)
    assert done.returncode == 0
    assert "queue-backlog" in done.stdout and "identity-service-outage" in done.stdout
    assert "half-written.md" in done.stderr and "skipped" in done.stderr

    data = json.loads(run_cli(["runbooks", "--runbooks", str(mine), "--json"], cli_env).stdout)
    assert {r["id"] for r in data["runbooks"]} >= {"queue-backlog", "process"}
    assert [Path(p["path"]).name for p in data["problems"]] == ["half-written.md"]

    # The same directory through the user's config dir, and a declare that it matches.
    config = Path(cli_env["HOME"]) / ".config" / "oncall-tui" / "runbooks"
    write(config, "queue-backlog.md", NEW_RUNBOOK)
    done = run_cli(["declare", "Jobs late", "--service", "rabbitmq", "--json"], cli_env)
    assert json.loads(done.stdout)["symptom"] == "queue-backlog"


def test_runbook_modules_do_not_import_textual():
    code = "import sys, oncall_tui.runbooks, oncall_tui.checklist, oncall_tui.commands.runbooks; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
