"""The review document and the JSON record of one incident, played through a night on a frozen clock."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import pytest

from oncall_tui import export_review, review
from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Desk
from oncall_tui.model import Incident, Status
from oncall_tui.store import event_hash

EXPECTED = Path(__file__).with_name("expected") / "review_INC-1.md"
EXE = str(Path(sys.executable).with_name("oncall-tui"))


@pytest.fixture
def night(desk: Desk, clock: FrozenClock) -> Desk:
    """INC-1, a P0 that began before anyone noticed, from page to closed review."""
    start = clock.now() - timedelta(minutes=4)
    desk.actor = "pagerbot"
    desk.declare(
        "Login failures across all tenants",
        severity="P0",
        services=["identity", "api-gateway"],
        impact="Users cannot sign in; 92% of /auth/token requests return 503",
        channel="#inc-identity",
        symptom="identity-service-outage",
        started_at=start,
    )
    desk.actor = "ava"
    clock.advance(minutes=3)
    desk.acknowledge(1)
    desk.move(1, Status.INVESTIGATING)
    clock.advance(minutes=6)
    desk.record_message(1, template="initial", via="clipboard", text="[P0] Service Issue: identity, api-gateway")
    desk.check_step(
        1, runbook="identity-service-outage", version="1", step=2, text="Verify JWKS cache status", checked=True
    )
    desk.note(1, "JWKS cache empty since 02:51; keys | rotated at 02:50")
    # The update promised by the 30-minute cadence went out late; a desk saw the clock run out.
    clock.advance(minutes=32)
    desk.record_breach(1, "next_update", "Next update", clock.now() - timedelta(minutes=2))
    clock.advance(minutes=3)
    desk.record_message(
        1,
        template="update",
        via="webhook",
        text="[P0] Status: cache refilled",
        next_update_at=clock.now() + timedelta(minutes=30),
    )
    desk.edit(1, "root_cause", "Key rotation at 02:50 emptied the JWKS cache; refills were rate-limited")
    desk.edit(1, "resolution", "Raised the refill rate limit and warmed the cache by hand")
    desk.edit(1, "prevention", "Warm the cache before rotating keys")
    desk.edit(1, "contributing_factors", "- Rotation ran during peak EU traffic\n- No alert on cache size")
    clock.advance(minutes=10)
    desk.move(1, Status.MITIGATED)
    clock.advance(minutes=20)
    desk.move(1, Status.RESOLVED)

    review.schedule(desk, 1, clock.now() + timedelta(hours=30), ["ava", "sam", "dana"])
    a = review.add_item(desk, 1, "Alert when the JWKS cache holds no keys", owner="sam", due=date(2026, 12, 4))
    b = review.add_item(desk, 1, "Runbook: rotation | warm-up order", owner="ava")
    review.add_item(desk, 1, "Rate-limit review for refills")
    review.edit_item(desk, b.id, due=date(2026, 12, 1), expected_version=b.version)
    clock.advance(hours=30)
    review.complete(desk, 1, notes="Blameless review held")
    review.set_done(desk, a.id, True, expected_version=a.version)
    desk.move(1, Status.CLOSED)
    desk.actor = "alice"
    return desk


def test_markdown_matches_the_expected_document(night):
    assert export_review.render_markdown(night, 1) == EXPECTED.read_text(encoding="utf-8")


def test_json_round_trips_every_field_and_event(night):
    doc = json.loads(json.dumps(export_review.export_document(night, 1)))
    back = export_review.read_export(doc)
    assert back.incident == night.get(1)
    assert [f.name for f in fields(Incident) if getattr(back.incident, f.name) != getattr(night.get(1), f.name)] == []
    assert back.timeline == night.timeline(1)
    assert back.action_items == review.items(night, 1)
    assert back.checks == [
        {"runbook": "identity-service-outage", "step": 2, "checked": True, "at": "2026-11-27T03:09:00Z", "actor": "ava"}
    ]
    assert doc["head_hash"] == night.get(1).head_hash
    assert {d["name"]: d["state"] for d in doc["deadlines"]}["review"] == "met"
    assert doc["review"]["attendees"] == ["ava", "sam", "dana"]


def test_the_exported_timeline_can_be_checked_alone(night):
    doc = export_review.export_document(night, 1)
    prev = ""
    for e in doc["timeline"]:
        details = json.dumps(e["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert e["prev_hash"] == prev
        assert event_hash(prev, 1, e["at"], e["actor"], e["kind"], details) == e["hash"]
        prev = e["hash"]
    assert prev == doc["head_hash"]


def test_a_users_template_wins_and_stays_sandboxed(night, tmp_path):
    own = tmp_path / "templates" / "export"
    own.mkdir(parents=True)
    (own / "review.md.j2").write_text("{{ id }} — {{ deadlines | length }} deadlines\n")
    assert export_review.render_markdown(night, 1, template_dirs=[tmp_path / "templates"]) == "INC-1 — 5 deadlines\n"

    (own / "review.md.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(export_review.ExportProblem, match="unsafe"):
        export_review.render_markdown(night, 1, template_dirs=[tmp_path / "templates"])

    (own / "review.md.j2").write_text("line one\n{{ summary }}\n")
    with pytest.raises(export_review.ExportProblem, match=r"review.md.j2:2: 'summary' is undefined"):
        export_review.render_markdown(night, 1, template_dirs=[tmp_path / "templates"])

    (own / "review.md.j2").write_text("{% for x in %}\n")
    with pytest.raises(export_review.ExportProblem, match=r"review.md.j2:1: syntax error"):
        export_review.render_markdown(night, 1, template_dirs=[tmp_path / "templates"])


def test_the_review_template_is_not_offered_as_a_chat_message(night):
    from oncall_tui.templates import TemplateLibrary

    assert all("review" not in name for name in TemplateLibrary().names())


def test_export_file_is_written_whole(night, tmp_path):
    path = export_review.export_markdown_file(night, 1, tmp_path / "out")
    assert path == tmp_path / "out" / "INC-1-review.md"
    assert path.read_text(encoding="utf-8") == EXPECTED.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["INC-1-review.md"]


def test_export_command(night, cli_env, tmp_path):
    night.close()
    out = tmp_path / "INC-1.json"
    done = subprocess.run([EXE, "export", "INC-1", "-o", str(out)], env=cli_env, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, f"wrote {out}\n")
    assert json.loads(out.read_text())["incident"]["title"] == "Login failures across all tenants"

    md = subprocess.run([EXE, "export", "inc-1"], env=cli_env, capture_output=True, text=True, check=True)
    assert md.stdout.startswith("# INC-1: Login failures across all tenants\n")

    missing = subprocess.run([EXE, "export", "INC-9"], env=cli_env, capture_output=True, text=True)
    assert (missing.returncode, missing.stderr) == (1, "oncall-tui: no incident INC-9\n")


def test_events_of_a_newer_desk_still_read_as_a_line(night):
    night.append(1, "integrity_checked", {"result": "ok", "events": 22, "chain": {"head": "622c"}})
    document = export_review.render_markdown(night, 1)
    assert "| 2026-11-28 10:14:00 | alice | Integrity checked: events=22, result=ok |\n" in document


def test_reaching_an_escalation_tier_is_not_a_missed_deadline(night):
    night.actor = "desk"
    night.append(
        1,
        "deadline_breached",
        {
            "deadline": "escalate:secondary-on-call",
            "label": "Escalate to Secondary On-Call",
            "due_at": "2026-11-27T03:30:00Z",
        },
    )
    event = night.timeline(1)[-1]
    assert not export_review.is_missed_deadline(event)
    timeline = export_review.render_markdown(night, 1).split("## Timeline")[1].split("## Root cause")[0]
    # Not bold like a missed deadline: it is the runbook saying who to call next.
    assert "| desk | Time to escalate to Secondary On-Call (2026-11-27 03:30 UTC) |" in timeline
