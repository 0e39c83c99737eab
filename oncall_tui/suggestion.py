"""The severity the runbook's criteria imply for an incident: a suggestion, never a decision.

The criteria live in the policy's `[[suggest]]` rules, so a team's own classification drives it.
A rule matches when the tenants affected are within its bounds (if it sets any), none of its
`unless_words` is in the title or impact, and (if it has words or labels) one of its phrases is
there or one of its alert labels is set; the first matching rule in policy order is the suggestion. The engineer confirms it in the picker:
nothing here writes anything. Pure: no I/O, no UI.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .model import Incident, Severity
from .policy import Policy, SuggestionRule

_FALSE = {"", "0", "false", "no", "none", "off"}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A severity the runbook's criteria suggest for an incident, and what in the incident met them."""

    severity: Severity
    criterion: str  # the runbook's words for it, as the policy gives them
    because: str  # what in this incident met it: "3 tenants affected", 'impact says "workaround"'

    def line(self) -> str:
        return f"{self.criterion} ({self.because})"


def suggest(
    policy: Policy,
    *,
    title: str = "",
    impact: str = "",
    tenants: int = 0,
    labels: Mapping[str, str] | None = None,
) -> Suggestion | None:
    """The first rule the facts meet, or None when no criterion matches."""
    text = " ".join(f"{title}\n{impact}".lower().split())
    for rule in policy.suggest:
        if (because := _meets(rule, text, tenants, labels or {})) is not None:
            return Suggestion(rule.severity, rule.criterion, because)
    return None


def suggest_for(policy: Policy, incident: Incident) -> Suggestion | None:
    return suggest(
        policy,
        title=incident.title,
        impact=incident.impact,
        tenants=incident.tenants_affected,
        labels=incident.labels,
    )


def _meets(rule: SuggestionRule, text: str, tenants: int, labels: Mapping[str, str]) -> str | None:
    reasons: list[str] = []
    if rule.min_tenants or rule.max_tenants is not None:
        if tenants < rule.min_tenants or (rule.max_tenants is not None and tenants > rule.max_tenants):
            return None
        reasons.append(f"{tenants} tenant{'' if tenants == 1 else 's'} affected")
    if rule.unless_words and _find(rule.unless_words, text) is not None:
        return None
    if rule.words or rule.labels:
        # Words and labels are two ways of saying the same thing: a flag on the alert, or the
        # engineer's own words; either is enough.
        if (word := _find(rule.words, text)) is not None:
            reasons.append(f'says "{word}"')
        elif (label := _label(rule.labels, labels)) is not None:
            reasons.append(f"alert label {label}")
        else:
            return None
    return ", ".join(reasons)


def _find(phrases: Sequence[str], text: str) -> str | None:
    for phrase in phrases:
        # `text` is lowered with its spacing made single: a phrase whose words are not in it as one
        # run of text cannot match, and is not compiled (the first frame's detail pane asks this of
        # every phrase in the policy, 2-3 ms of compiling for a pattern or two that could match).
        if _spaced(phrase) in text and _pattern(phrase).search(text):
            return phrase
    return None


@functools.lru_cache(maxsize=512)
def _spaced(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@functools.lru_cache(maxsize=512)
def _pattern(phrase: str) -> re.Pattern[str]:
    # Whole words, any spacing: "down" is not "slowdown", "multiple  tenants" is "multiple tenants".
    words = [re.escape(w) for w in phrase.lower().split()]
    return re.compile(r"(?<![\w-])" + r"\s+".join(words) + r"(?![\w-])")


def _label(wanted: Sequence[str], labels: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): str(v).strip().lower() for k, v in labels.items()}
    for item in wanted:
        name, _, value = item.partition("=")
        have = lowered.get(name.strip().lower())
        if have is None or have in _FALSE:
            continue
        if not value or have == value.strip().lower():
            return f"{name.strip()}={have}"
    return None
