"""Tenants affected: how an engineer writes them, how the desk says them, where alerts name them.

The runbook tells a P0 ("complete service outage affecting multiple tenants") from a P1 ("single
tenant complete outage") by this, so it is one field an engineer can fill in seconds: names
(`acme, globex`), a count when more are affected than anyone can list (`40`), or both (`40: acme,
globex`). Pure: no I/O, no UI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import InputError

NAME_LIMIT = 200
MAX_NAMES = 500

_COUNT_FIRST = re.compile(r"^(?P<count>\d+)\s*(?:tenants?)?\s*(?:[:(]\s*(?P<names>.*?)\)?)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Tenants:
    """The tenants an incident affects: the names given, and a count that may be larger."""

    names: tuple[str, ...] = ()
    count: int = 0  # as given; the number affected is at least len(names)

    @property
    def affected(self) -> int:
        return max(self.count, len(self.names))

    def __str__(self) -> str:
        return format_tenants(self.names, self.count)


def parse_tenants(text: str) -> Tenants:
    """'acme, globex' · '40' · '40 tenants' · '40: acme, globex' · '40 (acme, globex)' · '' (none).

    Raises ValueError with the forms it reads when the text is none of them.
    """
    raw = " ".join(str(text).split())
    if not raw or raw in ("-", "—"):
        return Tenants()
    count = 0
    names_text = raw
    if match := _COUNT_FIRST.match(raw):
        count = int(match["count"])
        names_text = match["names"] or ""
        if count > 1_000_000:
            raise InputError(f"{count:,} tenants is not a count the desk believes; give the number affected")
    names = tuple(dict.fromkeys(n.strip()[:NAME_LIMIT] for n in names_text.split(",") if n.strip()))
    if any(n.isdigit() for n in names):
        raise InputError(
            f"cannot read {text!r} as tenants: write names (acme, globex), a count (40), or 40: acme, globex"
        )
    if len(names) > MAX_NAMES:
        raise InputError(f"{len(names)} tenant names; at most {MAX_NAMES} — give a count instead")
    if count and count < len(names):
        raise InputError(f"{count} tenants but {len(names)} names: the count is how many are affected in all")
    return Tenants(names, count if count > len(names) else 0)


def format_tenants(names: Sequence[str], count: int = 0, *, limit: int = 0) -> str:
    """'acme, globex' · '40 tenants' · '40 tenants: acme, globex' · '' when none; `limit` caps the names shown."""
    affected = max(count, len(names))
    if not affected:
        return ""
    shown = list(names[:limit]) if limit else list(names)
    listed = ", ".join(shown) + (", …" if len(shown) < len(names) else "")
    if affected == len(names) and len(shown) == len(names):
        return listed
    noun = "tenant" if affected == 1 else "tenants"
    return f"{affected} {noun}: {listed}" if listed else f"{affected} {noun}"


def editable_text(names: Sequence[str], count: int = 0) -> str:
    """The text `parse_tenants` reads back to the same value: what an edit box starts from."""
    if count > len(names):
        return f"{count}: {', '.join(names)}" if names else str(count)
    return ", ".join(names)


def tenants_from_labels(labelsets: Iterable[Mapping[str, str]], label_names: Sequence[str]) -> tuple[str, ...]:
    """Tenant names that alerts carry in any of `label_names` (first seen first, each once).

    A label may hold several names separated by commas (an aggregate alert over tenants).
    """
    found: dict[str, None] = {}
    for labels in labelsets:
        for name in label_names:
            for value in labels.get(name, "").split(","):
                value = " ".join(value.split())[:NAME_LIMIT]
                if value:
                    found.setdefault(value)
    return tuple(found)


def merge(names: Sequence[str], more: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*names, *more)))
