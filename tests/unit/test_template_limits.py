"""User templates run on the desk's time: a loop too big, a huge number or a huge message stops with
a TemplateProblem naming the file, within the render deadline; a template or runbook that is a link
leading outside its folder is refused, not read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oncall_tui import templates
from oncall_tui.runbooks import RunbookLibrary
from oncall_tui.templates import TemplateLibrary, TemplateProblem, compose


@pytest.fixture
def incident(desk):
    return desk.declare("Login failures", severity="P1", services=["identity"], impact="no logins")


def _compose(desk, incident, tmp_path: Path, source: str):
    (tmp_path / "mine.j2").write_text(source)
    library = TemplateLibrary([tmp_path])
    return compose(library, "mine", incident, policy=desk.policy, now=desk.now())


@pytest.mark.parametrize(
    "source, said",
    [
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}x", "took longer than"),
        ("{% for a in range(100000) %}{% for b in range(100000) %}{{ b }}{% endfor %}{% endfor %}", "over 40,000"),
        ("{{ 9**999999999 }}", "9 ** 999999999 is too big a number"),
        ("{% set n = 9 %}{{ n ** 99999999 }}", "is too big a number"),
        ('{{ "x" * 1000000000 }}', "times is too big for a message"),
        ("{% for a in range(10**9) %}{% endfor %}", "at most 100,000"),
    ],
    ids=["empty-nested-loops", "output-flood", "constant-power", "runtime-power", "string-repeat", "huge-range"],
)
def test_a_runaway_template_stops_in_time_with_its_file_named(desk, incident, tmp_path, monkeypatch, source, said):
    monkeypatch.setattr(templates, "RENDER_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as caught:
        _compose(desk, incident, tmp_path, source)
    assert time.monotonic() - started < 10  # unstopped, each of these runs for hours or fills the memory
    assert said in str(caught.value)
    assert caught.value.file == tmp_path / "mine.j2"


def test_ordinary_arithmetic_and_loops_still_work(desk, incident, tmp_path):
    message = _compose(desk, incident, tmp_path, "{% for i in range(3) %}{{ i * 2 }}{{ 2 ** 10 }} {% endfor %}")
    assert message.text == "01024 21024 41024 "


def test_a_template_linking_outside_its_folder_is_refused(desk, incident, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2")
    folder = tmp_path / "templates"
    folder.mkdir()
    os.symlink(secret, folder / "update.j2")
    library = TemplateLibrary([folder])
    with pytest.raises(TemplateProblem) as caught:
        compose(library, "update", incident, policy=desk.policy, now=desk.now())
    assert "hunter2" not in str(caught.value)
    assert str(caught.value) == (
        f"{folder / 'update.j2'}: update.j2 is a link to {secret}, outside {folder}: refused (a template must be a "
        "file inside its folder, so a shared folder cannot make the desk read other files)"
    )


def test_an_include_linking_outside_is_refused_too(desk, incident, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    os.symlink("/etc/passwd", folder / "footer.j2")
    (folder / "mine.j2").write_text('hello {% include "footer.j2" %}')
    with pytest.raises(TemplateProblem, match="footer.j2 is a link to /etc/passwd"):
        compose(TemplateLibrary([folder]), "mine", incident, policy=desk.policy, now=desk.now())


def test_a_link_inside_the_folder_is_fine(desk, incident, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "real.j2").write_text("real {{ id }}")
    os.symlink(folder / "real.j2", folder / "alias.j2")
    assert (
        compose(TemplateLibrary([folder]), "alias", incident, policy=desk.policy, now=desk.now()).text == "real INC-1"
    )


def test_a_runbook_linking_outside_its_folder_is_skipped_with_a_reason(tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    folder = tmp_path / "runbooks"
    folder.mkdir()
    os.symlink(secret, folder / "keys.md")
    library = RunbookLibrary([folder])
    problems = [p for p in library.problems if p.path.name == "keys.md"]
    assert len(problems) == 1 and problems[0].skipped
    assert f"keys.md is a link to {secret}, outside {folder}: refused" in str(problems[0])
    assert not any("OPENSSH" in (rb.title + rb.summary) for rb in library)
