"""The board's filter: `sev:P0 status:triggered svc:identity login`.

Words with a `key:` narrow by a field, plain words must all appear somewhere in the incident's
id, title, services, assignee or channel. Values after a key may be comma-separated (`sev:P0,P1`,
any of them matches). Parsing is strict: a typo such as `sev:P9` is an error the filter box shows,
not a filter that silently hides every incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from ..model import Incident, Severity, Status

FILTER_HELP: tuple[tuple[str, str], ...] = (
    ("login", "a word in the id, title, services, assignee or channel"),
    ("sev:P0,P1", "severity (sev:none: not determined yet)"),
    ("status:trig", "status, a prefix is enough (status:open: not resolved)"),
    ("svc:identity", "an affected service"),
    ("who:alice", "the assignee (who:none: unassigned)"),
    ("is:breached", "a deadline has been missed"),
)
SYNTAX_HELP = " · ".join(example for example, _ in FILTER_HELP) + " (all must match)"

_KEYS = {
    "sev": "severities",
    "severity": "severities",
    "status": "statuses",
    "st": "statuses",
    "svc": "services",
    "service": "services",
    "who": "assignees",
    "assignee": "assignees",
    "is": "flags",
}
_FLAGS = ("breached",)


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """The board's filter as typed, and what it parsed to."""

    text: str = ""
    words: tuple[str, ...] = ()
    severities: frozenset[Severity | None] = frozenset()
    statuses: frozenset[Status] = frozenset()
    services: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.text)

    @classmethod
    def parse(cls, text: str) -> BoardFilter:
        """Parse filter text; raises InputError with a message meant for the filter box."""
        text = " ".join(text.split())
        if not text:
            return cls()
        tokens = _tokens(text)
        words: list[str] = []
        found: dict[str, list] = {name: [] for name in set(_KEYS.values())}
        for token in tokens:
            key, sep, value = token.partition(":")
            if not sep or key.lower() not in _KEYS:
                if sep and key.isalpha() and " " not in token:
                    raise InputError(f"unknown filter {key}: (use sev:, status:, svc:, who: or is:)")
                words.append(token.lower())
                continue
            slot = _KEYS[key.lower()]
            values = [v for v in value.split(",") if v.strip()]
            if not values:
                raise InputError(f"{key}: needs a value, e.g. {key}:{_example(slot)}")
            found[slot].extend(_parse_value(slot, v.strip()) for v in values)
        statuses: list[Status] = []
        for item in found["statuses"]:
            statuses.extend(item)
        return cls(
            text=text,
            words=tuple(words),
            severities=frozenset(found["severities"]),
            statuses=frozenset(statuses),
            services=tuple(found["services"]),
            assignees=tuple(found["assignees"]),
            flags=frozenset(found["flags"]),
        )

    def matches(self, incident: Incident, *, breached: bool = False) -> bool:
        if self.severities and incident.severity not in self.severities:
            return False
        if self.statuses and incident.status not in self.statuses:
            return False
        if self.services and not any(want in have.lower() for want in self.services for have in incident.services):
            return False
        if self.assignees:
            who = incident.assignee.lower()
            if not any((want == "" and not who) or (want and want in who) for want in self.assignees):
                return False
        if "breached" in self.flags and not breached:
            return False
        if self.words:
            haystack = " ".join(
                (incident.id, incident.title, " ".join(incident.services), incident.assignee, incident.channel)
            ).lower()
            if not all(word in haystack for word in self.words):
                return False
        return True


def _example(slot: str) -> str:
    return {
        "severities": "P1",
        "statuses": "triggered",
        "services": "identity",
        "assignees": "alice",
        "flags": "breached",
    }[slot]


def _parse_value(slot: str, value: str):
    low = value.lower()
    if slot == "severities":
        if low in ("none", "?", "unknown"):
            return None
        return Severity.parse(value)
    if slot == "statuses":
        if low == "open":
            return tuple(s for s in Status if s.is_open)
        matched = tuple(s for s in Status if s.value.startswith(low))
        if not matched:
            names = ", ".join(s.value for s in Status)
            raise InputError(f"unknown status {value!r}: use one of {names} (or open)")
        return matched
    if slot == "assignees":
        return "" if low in ("none", "nobody", "-") else low
    if slot == "flags":
        if low not in _FLAGS:
            raise InputError(f"unknown is:{value} (known: {', '.join('is:' + f for f in _FLAGS)})")
        return low
    return low


# A word, where quoted parts may hold spaces (svc:"api gateway"); a quote with no partner is
# taken literally (it's), rather than refusing the filter.
_TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*'|["'])+""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")


def _tokens(text: str) -> list[str]:
    return [_QUOTED.sub(r"\1\2", token) for token in _TOKEN.findall(text)]
