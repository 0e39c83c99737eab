"""The process's numbers, read from `data/policy.toml` and the user's override."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .model import Severity
from .paths import config_dir, data_dir


class PolicyError(Exception):
    """A policy file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class EscalationTier:
    after: timedelta
    level: str
    contact: str
    # Derived once: every incident's deadlines name every tier, every time they are computed.
    key: str = field(init=False, repr=False, compare=False)
    label: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", "escalate:" + self.level.lower().replace(" ", "-"))
        object.__setattr__(self, "label", f"Escalate to {self.level}")


@dataclass(frozen=True, slots=True)
class SeverityInfo:
    severity: Severity
    name: str
    criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    severity_map: dict[str, Severity] = field(default_factory=dict)
    service_labels: tuple[str, ...] = ("service",)
    poll_seconds: float = 5.0
    timeout_seconds: float = 5.0
    silence_on_ack: bool = True
    silence_minutes: int = 120
    group_by: tuple[str, ...] = ()
    # Labels whose values name the tenants an alert is about (each label may list several, comma-separated).
    tenant_labels: tuple[str, ...] = ("tenant",)
    # The always-firing alert whose absence means monitoring itself is down; "" when there is none.
    watchdog: str = "Watchdog"


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """An incident role (commander, comms lead, scribe…): `id` is what templates and the CLI use."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SuggestionRule:
    """One way an incident meets one of the runbook's severity criteria (see `[[suggest]]`)."""

    severity: Severity
    criterion: str
    min_tenants: int = 0
    max_tenants: int | None = None
    words: tuple[str, ...] = ()
    unless_words: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    acknowledge: timedelta = timedelta(minutes=5)
    severity: timedelta = timedelta(minutes=15)
    stakeholders: timedelta = timedelta(minutes=15)
    stakeholder_severities: frozenset[Severity] = frozenset({Severity.P0, Severity.P1})
    warn_fraction: float = 0.2
    update_cadence: dict[Severity, timedelta] = field(default_factory=dict)
    review_severities: frozenset[Severity] = frozenset({Severity.P0, Severity.P1})
    review_opens: timedelta = timedelta(hours=24)
    review_due: timedelta = timedelta(hours=48)
    escalation: tuple[EscalationTier, ...] = ()
    # Severities the time-based matrix applies to; an undetermined severity always escalates (it may be a P0).
    escalation_severities: frozenset[Severity] = frozenset({Severity.P0, Severity.P1})
    severities: dict[Severity, SeverityInfo] = field(default_factory=dict)
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    roles: tuple[RoleInfo, ...] = ()
    suggest: tuple[SuggestionRule, ...] = ()
    sources: tuple[str, ...] = ()  # the files it was read from, for the help screen

    def tier_at(self, index: int) -> EscalationTier:
        return self.escalation[min(index, len(self.escalation) - 1)]

    def role(self, text: str) -> RoleInfo:
        """A role by id or name, any case ('commander', 'Incident commander', 'ic' for its initials)."""
        wanted = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
        for role in self.roles:
            initials = "".join(w[0] for w in role.name.lower().split())
            if wanted in (role.id.lower().replace("_", " ").replace("-", " "), role.name.lower(), initials):
                return role
        known = ", ".join(r.id for r in self.roles) or "none (add [[role]] tables to policy.toml)"
        raise ValueError(f"unknown role {text!r}: use one of {known}")

    def parse_severity(self, text: str) -> Severity:
        """P0–P3, or a severity's name in this policy ('critical', 'high'…), any case."""
        wanted = text.strip().lower()
        for sev, info in self.severities.items():
            if wanted and wanted == info.name.lower():
                return sev
        return Severity.parse(text)


def default_policy_path() -> Path:
    return data_dir() / "policy.toml"


def load_policy(override: Path | None = None, *, use_user_config: bool = True) -> Policy:
    """The shipped policy, merged with the user's (`override`, else the config dir's policy.toml)."""
    sources = [default_policy_path()]
    raw = _read_toml(sources[0])
    user = override
    if user is None and use_user_config:
        candidate = config_dir() / "policy.toml"
        user = candidate if candidate.is_file() else None
    elif user is not None and not user.is_file():
        raise PolicyError(f"{user}: no such policy file")
    if user is not None:
        raw = _merge(raw, _read_toml(user))
        sources.append(user)
    try:
        return _build(raw, tuple(str(s) for s in sources))
    except PolicyError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{sources[-1]}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise PolicyError(f"{path}: {exc}") from None
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror or exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _minutes(value: Any, what: str) -> timedelta:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        # A ValueError, so load_policy prefixes the file it came from.
        raise ValueError(f"{what} must be a number of minutes, got {value!r}")
    return timedelta(minutes=value)


def _build(raw: dict[str, Any], sources: tuple[str, ...]) -> Policy:
    dl = raw.get("deadlines", {})
    review = raw.get("review", {})
    tiers = tuple(
        EscalationTier(
            after=_minutes(t["after_minutes"], "escalation.after_minutes"),
            level=str(t["level"]),
            contact=str(t.get("contact", "")),
        )
        for t in raw.get("escalation", [])
    )
    if not tiers:
        raise PolicyError(f"{sources[-1]}: the escalation matrix is empty")
    tiers = tuple(sorted(tiers, key=lambda t: t.after))
    severities = {}
    for sev in Severity:
        info = raw.get("severity", {}).get(sev.value, {})
        severities[sev] = SeverityInfo(sev, str(info.get("name", sev.value)), tuple(info.get("criteria", ())))
    updates = {Severity.parse(k): _minutes(v, f"updates.{k}") for k, v in raw.get("updates", {}).items()}
    al = raw.get("alerts", {})
    alerts = AlertPolicy(
        severity_map={str(k).lower(): Severity.parse(v) for k, v in al.get("severity_map", {}).items()},
        service_labels=tuple(al.get("service_labels", ("service",))),
        poll_seconds=float(al.get("poll_seconds", 5)),
        timeout_seconds=float(al.get("timeout_seconds", 5)),
        silence_on_ack=bool(al.get("silence_on_ack", True)),
        silence_minutes=int(al.get("silence_minutes", 120)),
        group_by=tuple(al.get("group_by", ())),
        tenant_labels=_names(al.get("tenant_labels", ["tenant"]), "alerts.tenant_labels"),
        watchdog=str(al.get("watchdog", "Watchdog")).strip(),
    )
    roles = tuple(_role(r) for r in raw.get("role", []))
    if len({r.id for r in roles}) != len(roles):
        raise ValueError("two [[role]] tables share an id")
    suggest = tuple(_rule(r) for r in raw.get("suggest", []))
    return Policy(
        acknowledge=_minutes(dl.get("acknowledge_minutes", 5), "deadlines.acknowledge_minutes"),
        severity=_minutes(dl.get("severity_minutes", 15), "deadlines.severity_minutes"),
        stakeholders=_minutes(dl.get("stakeholders_minutes", 15), "deadlines.stakeholders_minutes"),
        stakeholder_severities=frozenset(Severity.parse(s) for s in dl.get("stakeholders_severities", ["P0", "P1"])),
        warn_fraction=float(dl.get("warn_fraction", 0.2)),
        update_cadence=updates,
        review_severities=frozenset(Severity.parse(s) for s in review.get("severities", ["P0", "P1"])),
        review_opens=timedelta(hours=review.get("window_opens_hours", 24)),
        review_due=timedelta(hours=review.get("due_hours", 48)),
        escalation=tiers,
        escalation_severities=frozenset(
            Severity.parse(s) for s in raw.get("escalation_policy", {}).get("severities", ["P0", "P1"])
        ),
        severities=severities,
        alerts=alerts,
        roles=roles,
        suggest=suggest,
        sources=sources,
    )


def _names(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings, got {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def _role(raw: Any) -> RoleInfo:
    if not isinstance(raw, dict) or not str(raw.get("id", "")).strip():
        raise ValueError(f'each [[role]] needs an id and a name, e.g. id = "commander", got {raw!r}')
    rid = str(raw["id"]).strip()
    if not rid.replace("_", "").isalnum():
        raise ValueError(f"role id {rid!r} must be letters, digits and _ (templates use it as roles.{rid})")
    return RoleInfo(rid, str(raw.get("name") or rid.replace("_", " ").capitalize()))


_RULE_KEYS = {"severity", "criterion", "min_tenants", "max_tenants", "words", "unless_words", "labels"}


def _rule(raw: Any) -> SuggestionRule:
    if not isinstance(raw, dict) or "severity" not in raw or "criterion" not in raw:
        raise ValueError(f"each [[suggest]] needs a severity and a criterion, got {raw!r}")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ValueError(
            f"[[suggest]] {raw['criterion']!r}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})"
        )
    rule = SuggestionRule(
        severity=Severity.parse(str(raw["severity"])),
        criterion=str(raw["criterion"]),
        min_tenants=int(raw.get("min_tenants", 0)),
        max_tenants=int(raw["max_tenants"]) if "max_tenants" in raw else None,
        words=_names(raw.get("words", []), "suggest.words"),
        unless_words=_names(raw.get("unless_words", []), "suggest.unless_words"),
        labels=_names(raw.get("labels", []), "suggest.labels"),
    )
    if not (rule.min_tenants or rule.max_tenants is not None or rule.words or rule.labels):
        raise ValueError(f"[[suggest]] {rule.criterion!r} has no condition: it would match every incident")
    return rule
