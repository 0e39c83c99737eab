"""The communication templates: exact text, strictness, the sandbox, user overrides, errors with lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyperclip
import pytest

from oncall_tui import cli
from oncall_tui.clock import iso, parse_instant
from oncall_tui.templates import (
    TemplateLibrary,
    TemplateProblem,
    compose,
    format_when,
    parse_when,
    suggest_template,
)

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "templates"


@pytest.fixture
def incident(desk, clock):
    """INC-1: a P0 outage that began at 02:55, declared at 03:00, acknowledged by alice at 03:02."""
    inc = desk.declare(
        "Login failures",
        severity="P0",
        services=["identity", "postgres"],
        impact="No tenant can sign in",
        started_at=parse_instant("2026-11-27T02:55:00Z"),
    )
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.move(inc.number, "investigating")
    desk.edit(inc.number, "eta", "about 04:00 UTC")
    desk.edit(inc.number, "root_cause", "JWKS cache expired after a failed refresh")
    desk.edit(inc.number, "resolution", "Refreshed the JWKS cache and restarted the identity pods")
    desk.edit(inc.number, "prevention", "Alert when the JWKS cache is older than 10 minutes")
    clock.advance(minutes=8)  # 03:10
    return desk.get(inc.number)


def render(desk, incident, name, library=None, **overrides):
    return compose(
        library or TemplateLibrary(),
        name,
        incident,
        policy=desk.policy,
        now=desk.now(),
        overrides=overrides,
    )


def test_initial_alert_is_the_runbooks_text_filled_in(desk, incident):
    assert render(desk, incident, "initial").text == (
        "[P0] Service Issue: identity, postgres\n"
        "- Timestamp: 2026-11-27 02:55 UTC\n"
        "- Impact: No tenant can sign in\n"
        "- Status: Under Investigation\n"
        "- Assigned: alice"
    )


def test_update_promises_a_next_update_and_says_when(desk, incident):
    message = render(desk, incident, "update")
    # A P0's update cadence is 30 minutes (policy.toml): the form offers "in 30 min" from 03:10.
    assert message.text == (
        "[P0] Service Issue: identity, postgres\n"
        "- Status: Under Investigation\n"
        "- ETA: about 04:00 UTC\n"
        "- Next Update: 03:40 UTC"
    )
    assert message.next_update_at == parse_instant("2026-11-27T03:40:00Z")


def test_resolution(desk, incident):
    assert render(desk, incident, "resolution").text == (
        "[P0] Service Issue: identity, postgres\n"
        "- Status: Resolved\n"
        "- Root Cause: JWKS cache expired after a failed refresh\n"
        "- Resolution: Refreshed the JWKS cache and restarted the identity pods\n"
        "- Prevention: Alert when the JWKS cache is older than 10 minutes"
    )


def test_shipped_templates_declare_title_and_fields():
    library = TemplateLibrary()
    assert library.names() == ["initial", "update", "resolution", "handoff"]
    titles = {n: library.get(n).title for n in library.names()}
    assert titles == {
        "initial": "Initial Alert",
        "update": "Update",
        "resolution": "Resolution",
        "handoff": "Handoff brief",
    }
    assert library.get("initial").field_names == ("severity", "service", "timestamp", "impact", "assigned")
    assert library.get("update").field_names == ("severity", "service", "progress", "eta", "next_update")
    assert library.get("resolution").field_names == ("severity", "service", "root_cause", "resolution", "prevention")
    assert [library.get(n).kind for n in library.names()] == ["initial", "update", "resolution", "other"]


def test_overrides_apply_to_this_message_only(desk, incident):
    message = render(desk, incident, "update", progress="Rolling back the 02:40 deploy", next_update="04:15")
    assert "- Status: Rolling back the 02:40 deploy" in message.text
    assert "- Next Update: 04:15 UTC" in message.text
    assert message.next_update_at == parse_instant("2026-11-27T04:15:00Z")
    assert desk.get(incident.number).eta == "about 04:00 UTC"  # nothing written


def test_a_field_value_cannot_break_the_message_into_more_lines(desk, incident):
    message = render(desk, incident, "initial", impact="Sign-in fails\n- Status: Resolved")
    assert message.text.count("\n") == 4
    assert "- Impact: Sign-in fails - Status: Resolved" in message.text
    stored = render(desk, incident.replace(impact="Sign-in fails\n\nfor every tenant"), "initial")
    assert "- Impact: Sign-in fails for every tenant\n" in stored.text


def test_assigned_falls_back_to_whoever_acknowledged(desk, incident):
    assert incident.assignee == ""
    assert "- Assigned: alice" in render(desk, incident, "initial").text


def test_a_missing_field_is_named_with_file_and_line_never_left_blank(desk, incident):
    no_eta = incident.replace(eta="")
    with pytest.raises(TemplateProblem) as caught:
        render(desk, no_eta, "update")
    problem = caught.value
    assert problem.fields == ("eta",)
    assert "ETA (eta)" in problem.message
    assert problem.file == SHIPPED / "update.j2"
    assert problem.line == 9  # "- ETA: {{ eta }}"
    assert str(problem).startswith(f"{SHIPPED / 'update.j2'}:9: no value for ETA (eta)")


def test_every_missing_field_is_named_at_once(desk, incident):
    bare = incident.replace(root_cause="", prevention="")
    with pytest.raises(TemplateProblem) as caught:
        render(desk, bare, "resolution")
    assert caught.value.fields == ("root_cause", "prevention")
    assert "Root Cause (root_cause), Prevention (prevention)" in caught.value.message


def test_an_unreadable_next_update_is_refused_naming_the_field(desk, incident):
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "update", next_update="after the deploy")
    assert caught.value.fields == ("next_update",)
    assert "Next Update" in caught.value.message and "after the deploy" in caught.value.message
    assert caught.value.line == 10


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.j2"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ incident.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ range.__self__ }}",
        "{{ incident.services.append('x') }}",
    ],
)
def test_the_sandbox_refuses_attribute_tricks(desk, incident, tmp_path, expression):
    path = write(tmp_path / "mine", "sneaky", f"[{{{{ severity }}}}] Service Issue\n{expression}\n")
    library = TemplateLibrary([tmp_path / "mine"])
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "sneaky", library)
    assert caught.value.file == path
    assert caught.value.line == 2
    assert "unsafe" in caught.value.message or "undefined" in caught.value.message


def test_the_sandbox_names_itself_when_it_refuses(desk, incident, tmp_path):
    write(tmp_path / "mine", "sneaky", "{{ ''.__class__.__mro__ }}")
    with pytest.raises(TemplateProblem, match=r"not allowed in a template \(sandbox\).*__class__"):
        render(desk, incident, "sneaky", TemplateLibrary([tmp_path / "mine"]))


def test_an_unknown_field_is_named_with_its_line(desk, incident, tmp_path):
    path = write(
        tmp_path / "mine", "custom", "[{{ severity }}] Service Issue: {{ service }}\n\n- Customer: {{ customr }}\n"
    )
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "custom", TemplateLibrary([tmp_path / "mine"]))
    assert "unknown field 'customr'" in caught.value.message
    assert (caught.value.file, caught.value.line) == (path, 3)


def test_strict_undefined_names_a_missing_attribute(desk, incident, tmp_path):
    path = write(tmp_path / "mine", "custom", "{{ id }}\n{{ incident.no_such_thing }}\n")
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "custom", TemplateLibrary([tmp_path / "mine"]))
    assert "no_such_thing" in caught.value.message
    assert (caught.value.file, caught.value.line) == (path, 2)


def test_a_syntax_error_gives_file_and_line(desk, incident, tmp_path):
    path = write(
        tmp_path / "mine",
        "update",
        '{#---\ntitle = "Update"\n---#}\n[{{ severity }}]\n{% if eta %}\n- ETA: {{ eta }}\n',
    )
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "update", TemplateLibrary([tmp_path / "mine"]))
    assert caught.value.file == path
    assert caught.value.line == 6
    assert caught.value.message.startswith("syntax error:")


def test_a_broken_front_matter_gives_file_and_line(tmp_path):
    path = write(tmp_path / "mine", "update", '{#---\ntitle = "Update"\nfields = ["eta"\n---#}\n{{ eta }}\n')
    with pytest.raises(TemplateProblem) as caught:
        TemplateLibrary([tmp_path / "mine"]).get("update")
    assert caught.value.file == path
    assert caught.value.line == 4  # an unclosed array is noticed at the closing ---#}
    assert caught.value.message.startswith("front matter: Unclosed array")

    write(tmp_path / "mine", "update", '{#---\ntitle = "Update"\nkind = sideways\n---#}\n{{ eta }}\n')
    with pytest.raises(TemplateProblem) as caught:
        TemplateLibrary([tmp_path / "mine"]).get("update")
    assert caught.value.line == 3


def test_a_runtime_error_in_a_template_is_a_problem_not_a_crash(desk, incident, tmp_path):
    path = write(tmp_path / "mine", "maths", "ok\n{{ 1 // 0 }}\n")
    with pytest.raises(TemplateProblem) as caught:
        render(desk, incident, "maths", TemplateLibrary([tmp_path / "mine"]))
    assert (caught.value.file, caught.value.line) == (path, 2)
    assert "ZeroDivisionError" in caught.value.message


def test_user_templates_override_shipped_ones_and_later_dirs_win(desk, incident, tmp_path):
    team, mine = tmp_path / "team", tmp_path / "mine"
    write(
        team,
        "initial",
        '{#---\ntitle = "Team alert"\n---#}\n:rotating_light: [{{ severity }}] {{ service }}: {{ impact }}\n',
    )
    write(
        team,
        "customer-update",
        '{#---\ntitle = "Customer update"\nkind = "update"\nfields = ["customer"]\n---#}\n'
        "Dear {{ customer }}: {{ progress }}. Next update {{ next_update }}.\n",
    )
    write(
        mine,
        "customer-update",
        '{#---\ntitle = "My customer update"\nkind = "update"\n'
        'fields = ["customer"]\n[labels]\ncustomer = "Customer name"\n---#}\n'
        "Hello {{ customer }} — {{ progress }}; next update {{ next_update }}.\n",
    )
    library = TemplateLibrary([team, mine])
    assert library.names() == ["initial", "update", "resolution", "handoff", "customer-update"]

    assert render(desk, incident, "initial", library).text == (
        ":rotating_light: [P0] identity, postgres: No tenant can sign in"
    )
    custom = library.get("customer-update")
    assert custom.title == "My customer update"
    assert custom.path == mine / "customer-update.j2"
    assert [(f.name, f.label) for f in custom.fields] == [
        ("customer", "Customer name"),
        ("progress", "Status"),
        ("next_update", "Next Update"),
    ]
    with pytest.raises(TemplateProblem, match=r"no value for Customer name \(customer\)"):
        render(desk, incident, "customer-update", library)
    message = render(desk, incident, "customer-update", library, customer="Acme")
    assert message.text == "Hello Acme — Under Investigation; next update 03:40 UTC."
    assert message.template.record_as == "update"
    assert message.next_update_at == parse_instant("2026-11-27T03:40:00Z")


def test_an_unknown_template_lists_the_available_ones(tmp_path):
    with pytest.raises(
        TemplateProblem, match=r"no template named 'nope' \(available: initial, update, resolution, handoff\)"
    ):
        TemplateLibrary([tmp_path / "absent"]).get("nope")


def test_the_template_the_runbook_expects_next(desk, incident):
    assert suggest_template(incident) == "initial"
    desk.record_message(incident.number, template="initial", text="x", via="clipboard")
    assert suggest_template(desk.get(incident.number)) == "update"
    desk.move(incident.number, "resolved")
    assert suggest_template(desk.get(incident.number)) == "resolution"


NOW = datetime(2026, 11, 27, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 30m", "2026-11-27T03:40:00Z"),
        ("30 min", "2026-11-27T03:40:00Z"),
        ("45 minutes", "2026-11-27T03:55:00Z"),
        ("1h", "2026-11-27T04:10:00Z"),
        ("in 1h 30m", "2026-11-27T04:40:00Z"),
        ("1 hour 15 minutes", "2026-11-27T04:25:00Z"),
        ("03:45", "2026-11-27T03:45:00Z"),
        ("at 3:45", "2026-11-27T03:45:00Z"),
        ("03:05", "2026-11-28T03:05:00Z"),  # already past today: tomorrow
        ("2026-11-27T05:00:00Z", "2026-11-27T05:00:00Z"),
        ("2026-11-27 06:00+01:00", "2026-11-27T05:00:00Z"),
    ],
)
def test_next_update_times_people_type(text, expected):
    assert parse_when(text, NOW) == parse_instant(expected)


@pytest.mark.parametrize("text", ["", "soon", "90", "in 0m", "25:00", "2026-11-27T03:00:00Z"])
def test_next_update_times_that_are_refused(text):
    with pytest.raises(ValueError):
        parse_when(text, NOW)


def test_clock_times_are_read_in_the_users_zone():
    berlin = ZoneInfo("Europe/Berlin")  # 03:10 UTC is 04:10 in Berlin
    assert parse_when("04:30", NOW, berlin) == parse_instant("2026-11-27T03:30:00Z")
    assert format_when(parse_instant("2026-11-27T03:30:00Z"), NOW, berlin) == "04:30 CET"
    assert format_when(NOW + timedelta(days=1), NOW) == "2026-11-28 03:10 UTC"


# --- the headless command ----------------------------------------------------------------------


def run_cli(capsys, clock, *argv):
    """The CLI in-process, on the test's frozen clock (the desk fixture's)."""
    status = cli.main(list(argv), clock=clock)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_compose_prints_the_message(desk, incident, db_path, clock, capsys):
    status, out, err = run_cli(capsys, clock, "compose", "INC-1", "--db", str(db_path), "--template", "initial")
    assert status == 0, err
    assert out == render(desk, incident, "initial").text + "\n"


def test_compose_set_overrides_a_field(incident, db_path, clock, capsys):
    promised = clock.now() + timedelta(hours=6)  # "a future time" is future for the CLI's clock too
    status, out, err = run_cli(
        capsys,
        clock,
        "compose",
        "INC-1",
        "--db",
        str(db_path),
        "-t",
        "update",
        "--set",
        "eta=unknown",
        "--set",
        f"next_update={iso(promised)}",
    )
    assert status == 0, err
    assert "- ETA: unknown\n" in out
    assert f"- Next Update: {promised:%H:%M} UTC\n" in out


def test_compose_is_as_strict_as_the_desk(desk, incident, db_path, clock, capsys):
    desk.edit(incident.number, "eta", "")
    status, out, err = run_cli(capsys, clock, "compose", "INC-1", "--db", str(db_path), "-t", "update")
    assert status == 1 and out == ""
    assert "update.j2:9: no value for ETA (eta)" in err and "--set eta=" in err

    status, out, err = run_cli(
        capsys, clock, "compose", "INC-1", "--db", str(db_path), "-t", "update", "--set", "cusomer=x"
    )
    assert status == 2
    assert "template 'update' has no field cusomer (its fields: severity, service, progress, eta, next_update)" in err


@pytest.fixture
def no_clipboard():
    """A machine without a system clipboard, as over SSH: pyperclip's own "no clipboard" mode."""
    saved = pyperclip.copy, pyperclip.paste
    pyperclip.set_clipboard("no")
    yield
    pyperclip.copy, pyperclip.paste = saved


def test_compose_copy_without_a_clipboard_says_so_and_records_nothing(
    desk, incident, db_path, clock, capsys, no_clipboard
):
    before = len(desk.timeline(incident.number))
    status, out, err = run_cli(capsys, clock, "compose", "INC-1", "--db", str(db_path), "-t", "initial", "--copy")
    assert status == 1
    assert out.startswith("[P0] Service Issue")  # the text is still there to copy by hand
    assert "not copied (no system clipboard on this machine)" in err
    assert len(desk.timeline(incident.number)) == before
