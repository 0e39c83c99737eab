"""`list --json` prints what json.dumps(indent=2) prints, byte for byte, only faster."""

from __future__ import annotations

import json

import pytest

from oncall_tui.export_json import deadlines_dict, incident_dict
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


def test_an_incident_as_list_prints_it(desk, clock):
    incident = desk.declare('Login failures for "acme"', severity="P1", services=["identity", "api"])
    desk.acknowledge(incident.number)
    clock.advance(minutes=40)
    item = {**incident_dict(desk.get(incident.number)), **deadlines_dict(desk.deadlines(desk.get(incident.number)))}
    assert dumps_indented(item, "\n  ") == json.dumps(item, indent=2).replace("\n", "\n  ")
    assert json.loads(dumps_indented(item))["deadlines"][0]["name"] == "acknowledge"
