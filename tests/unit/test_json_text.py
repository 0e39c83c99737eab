"""`list --json` prints what json.dumps(indent=2) prints, byte for byte, only faster."""

from __future__ import annotations

import json

import pytest

from oncall_tui.demo import seed_demo
from oncall_tui.export_json import deadlines_dict, incident_dict, incident_json
from oncall_tui.json_text import dumps_indented

AWKWARD = [
    'a string with ": 0 and ,\n"services": 0 inside',
    'tab\tquote"backslash\\ and é, 漢字, \u2028, \x00',
    "",
]


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        "text",
        0,
        -1.5,
        None,
        True,
        {"a": 1, "b": [], "c": {}, "d": None, "e": False, "f": 1e100, "g": float("inf")},
        {"services": ["api", "db"], "labels": {"team": "x"}, "0": 0, "deadlines": [{"a": 1}, {"b": [1, [2, {}]]}]},
        {"nested": {"deeper": {"deepest": [AWKWARD, {"k": AWKWARD}]}}, "after": AWKWARD[0]},
        [[], {}, [[]], [{}], ("a", "tuple")],
        {k: k for k in AWKWARD},
        {1: "int key", 2.5: [1], False: {"x": 1}, None: [2]},  # json's own key conversions
        {"mixed": [1, "two", None, [3], {"four": 4}]},
    ],
)
def test_the_text_is_json_dumps_indent_2(value):
    assert dumps_indented(value) == json.dumps(value, indent=2)
    # Started deeper: every line after the first indented as far again (how `list --json` nests).
    assert dumps_indented(value, "\n  ") == json.dumps(value, indent=2).replace("\n", "\n  ")


def test_every_incident_of_the_demo_desk_as_list_prints_it(desk, clock):
    """`list --json` writes each incident straight from its fields: the text json.dumps gives for
    incident_dict + deadlines_dict, for every shape the demo has (closed, breached, escalated,
    tenants, roles, labels, a title with quotes and non-ASCII)."""
    seed_demo(desk)
    odd = desk.declare('Login failures for "acme" — é', severity="P1", services=["identity", "api"])
    desk.acknowledge(odd.number)
    desk.set_role(odd.number, "commander", "dana")
    done = desk.declare("Checkout errors", severity="P3", tenants="acme, globex")
    desk.acknowledge(done.number)
    desk.edit(done.number, "root_cause", "A bad deploy")
    desk.edit(done.number, "resolution", "Rolled back")
    desk.move(done.number, "resolved")
    desk.move(done.number, "closed")
    clock.advance(minutes=40)
    incidents = desk.incidents(include_closed=True)
    assert len({i.status for i in incidents}) >= 5 and any(i.roles for i in incidents)
    assert any(i.tenants for i in incidents) and any(i.labels for i in incidents)
    for incident in incidents:
        dl = desk.deadlines(incident)
        expected = json.dumps({**incident_dict(incident), **deadlines_dict(dl)}, indent=2)
        assert incident_json(incident, dl) == expected
        assert incident_json(incident, dl, "\n  ") == expected.replace("\n", "\n  ")
