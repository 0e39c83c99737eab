"""Alertmanager's label matchers: `{team="db", severity=~"critical|page", env!="staging"}`.

The same syntax `amtool` and Alertmanager's API take, so a desk's `[alerts] filter` can be copied from
a route or a silence. Regexes are anchored at both ends, as Alertmanager anchors them. A silence's
matchers (the API's `{name, value, isRegex, isEqual}` objects) become the same `Matcher`s, so "does
this silence cover this incident" is answered by one piece of code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*")
_OPS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}


class MatcherError(ValueError):
    """A filter that is not Alertmanager matcher syntax; the message says where."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    regex: bool = False
    equal: bool = True
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, value: str, *, regex: bool = False, equal: bool = True) -> Matcher:
        pattern = None
        if regex:
            try:
                pattern = re.compile(f"(?:{value})")
            except re.error as exc:
                raise MatcherError(f"{name}: {value!r} is not a regular expression ({exc})") from None
        return cls(name, value, regex, equal, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        # As in Alertmanager, a missing label matches as the empty string.
        value = labels.get(self.name, "")
        if self._pattern is not None:
            hit = self._pattern.fullmatch(value) is not None
        else:
            hit = value == self.value
        return hit is self.equal

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return f'{self.name}{op[(self.regex, self.equal)]}"{self.value}"'


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """`{a="b", c=~"d.*"}` or `a="b", c!="d"` (braces optional; values quoted or bare words)."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise MatcherError(f"{text!r}: an opening brace without a closing one")
        body = body[1:-1]
    out: list[Matcher] = []
    pos = 0
    while pos < len(body):
        if body[pos] in " ,\t":
            pos += 1
            continue
        head = _NAME.match(body, pos)
        if head is None:
            raise MatcherError(f'{text!r}: expected a matcher like team="db" at {body[pos : pos + 20]!r}')
        name, op = head.group(1), head.group(2)
        pos = head.end()
        value, pos = _value(body, pos, text)
        regex, equal = _OPS[op]
        out.append(Matcher.make(name, value, regex=regex, equal=equal))
        while pos < len(body) and body[pos] == " ":
            pos += 1
        if pos < len(body) and body[pos] != ",":
            raise MatcherError(f"{text!r}: expected a comma at {body[pos : pos + 20]!r}")
    return tuple(out)


def _value(body: str, pos: int, text: str) -> tuple[str, int]:
    if pos < len(body) and body[pos] == '"':
        chars: list[str] = []
        i = pos + 1
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                chars.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                return "".join(chars), i + 1
            chars.append(ch)
            i += 1
        raise MatcherError(f"{text!r}: a quoted value is not closed")
    end = pos
    while end < len(body) and body[end] not in ", ":
        end += 1
    return body[pos:end], end


def from_api(matchers: Iterable[Mapping[str, Any]]) -> tuple[Matcher, ...]:
    """A silence's matchers as Alertmanager's API gives them; a broken one matches nothing."""
    out = []
    for m in matchers:
        try:
            out.append(
                Matcher.make(
                    str(m.get("name", "")),
                    str(m.get("value", "")),
                    regex=bool(m.get("isRegex")),
                    equal=m.get("isEqual", True) is not False,
                )
            )
        except MatcherError:
            return (Matcher.make("__never__", "x"),)  # labels never have this name: matches nothing
    return tuple(out)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
