"""The shipped policy carries the runbook's numbers; a user's policy changes only what it names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from oncall_tui.model import Severity
from oncall_tui.paths import config_dir
from oncall_tui.policy import PolicyError, default_policy_path, load_policy

MIN = timedelta(minutes=1)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_policy_has_the_runbooks_numbers(policy):
    assert policy.acknowledge == 5 * MIN
    assert policy.severity == 15 * MIN
    assert policy.stakeholders == 15 * MIN
    assert policy.stakeholder_severities == {Severity.P0, Severity.P1}
    assert policy.review_severities == {Severity.P0, Severity.P1}
    assert (policy.review_opens, policy.review_due) == (timedelta(hours=24), timedelta(hours=48))
    assert [(t.after, t.level) for t in policy.escalation] == [
        (0 * MIN, "Primary On-Call"),
        (30 * MIN, "Secondary On-Call"),
        (60 * MIN, "Engineering Manager"),
        (120 * MIN, "VP of Engineering"),
        (240 * MIN, "CTO"),
    ]
    assert policy.update_cadence == {Severity.P0: 30 * MIN, Severity.P1: 60 * MIN}
    assert policy.sources == (str(default_policy_path()),)


def test_the_shipped_policy_has_the_runbooks_severity_criteria(policy):
    assert {s: (i.name, i.criteria) for s, i in policy.severities.items()} == {
        Severity.P0: (
            "Critical",
            (
                "Complete service outage affecting multiple tenants",
                "Security breach or data compromise",
                "Loss of legal evidence integrity",
                "Compliance violation",
            ),
        ),
        Severity.P1: (
            "High",
            (
                "Service degradation affecting core functionality",
                "Single tenant complete outage",
                "Performance below SLO thresholds",
            ),
        ),
        Severity.P2: (
            "Medium",
            (
                "Minor functionality issues",
                "Individual user access problems",
                "Non-critical security events",
            ),
        ),
        Severity.P3: (
            "Low",
            (
                "Minor service issues with workaround",
                "Non-urgent feature requests",
                "Documentation updates",
            ),
        ),
    }


def test_the_shipped_policy_maps_alertmanager_severities(policy):
    assert policy.alerts.severity_map["critical"] is Severity.P1
    assert policy.alerts.service_labels[0] == "service"


def test_a_user_override_merges_over_the_shipped_policy(tmp_path):
    override = write(
        tmp_path / "mine.toml",
        """
[deadlines]
acknowledge_minutes = 3

[updates]
P2 = 240

[severity.P0]
name = "Sev-1"
""",
    )
    policy = load_policy(override)
    assert policy.acknowledge == 3 * MIN
    assert policy.severity == 15 * MIN  # the rest of [deadlines] is kept
    assert policy.update_cadence == {Severity.P0: 30 * MIN, Severity.P1: 60 * MIN, Severity.P2: 240 * MIN}
    assert policy.severities[Severity.P0].name == "Sev-1"
    assert policy.severities[Severity.P0].criteria[0] == "Complete service outage affecting multiple tenants"
    assert len(policy.escalation) == 5
    assert policy.sources == (str(default_policy_path()), str(override))


def test_an_escalation_matrix_in_the_override_replaces_the_shipped_one(tmp_path):
    override = write(
        tmp_path / "mine.toml",
        """
[[escalation]]
after_minutes = 45
level = "Incident Commander"
contact = "#ic"

[[escalation]]
after_minutes = 0
level = "Primary On-Call"
contact = "Dana, +1 555 0100"
""",
    )
    policy = load_policy(override)
    # Tables merge, lists replace; tiers are ordered by time whatever order the file gives.
    assert [(t.after, t.level, t.contact) for t in policy.escalation] == [
        (0 * MIN, "Primary On-Call", "Dana, +1 555 0100"),
        (45 * MIN, "Incident Commander", "#ic"),
    ]


def test_the_users_config_dir_policy_is_picked_up(tmp_path):
    write(config_dir() / "policy.toml", "[deadlines]\nacknowledge_minutes = 10\n")
    assert load_policy().acknowledge == 10 * MIN
    assert load_policy(use_user_config=False).acknowledge == 5 * MIN


def test_a_syntax_error_names_the_file_and_the_line(tmp_path):
    bad = write(tmp_path / "policy.toml", "[deadlines]\nacknowledge_minutes = 5\nseverity_minutes = = 15\n")
    with pytest.raises(PolicyError) as refused:
        load_policy(bad)
    message = str(refused.value)
    assert message.startswith(f"{bad}: ")
    assert "line 3" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            '[deadlines]\nacknowledge_minutes = "five"\n',
            "[deadlines] acknowledge_minutes = 'five': must be a number from 0 to 10,080 (minutes, up to a week)",
        ),
        ("[deadlines]\nseverity_minutes = -1\n", "[deadlines] severity_minutes = -1: must be a number from 0 to"),
        (
            '[deadlines]\nstakeholders_severities = ["P9"]\n',
            "[deadlines] stakeholders_severities = 'P9': each must be one of P0, P1, P2 or P3",
        ),
        ("escalation = []\n", "the escalation matrix is empty"),
        (
            '[[escalation]]\nlevel = "Primary"\n',
            "[escalation #1] after_minutes is missing: it must be a number from 0 to",
        ),
    ],
)
def test_a_wrong_value_names_the_file_and_what_is_wrong(tmp_path, text, expected):
    bad = write(tmp_path / "policy.toml", text)
    with pytest.raises(PolicyError) as refused:
        load_policy(bad)
    assert str(bad) in str(refused.value)
    assert expected in str(refused.value)


def test_a_missing_override_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml")
