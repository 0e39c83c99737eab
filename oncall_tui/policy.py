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
    # Who is paged at this level: whoever holds `schedule` (schedules.toml), or one `person` (people.toml).
    schedule: str = ""
    person: str = ""
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


@dataclass(frozen=True, slots=True)
class PagingPolicy:
    """[paging]: when pages go out and how hard each one is tried."""

    repeat_minutes: float = 5.0  # an unacknowledged page is sent again after this long …
    repeat_limit: int = 3  # … at most this many times
    quiet_severities: frozenset[Severity] = frozenset({Severity.P3})
    send_timeout_seconds: float = 10.0  # one attempt on one channel
    retry_seconds: tuple[float, ...] = (2.0, 8.0)  # waits between attempts on a channel that failed
    heads_up_minutes: float = 30.0  # before a handoff, the incoming person is told
    heartbeat_seconds: float = 5.0
    watcher_stale_seconds: float = 30.0  # a desk or agent silent this long is not watching


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
    paging: PagingPolicy = field(default_factory=PagingPolicy)
    sources: tuple[str, ...] = ()  # the files it was read from, for the help screen

    def tier_at(self, index: int) -> EscalationTier:
        return self.escalation[min(index, len(self.escalation) - 1)]


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
            schedule=str(t.get("schedule", "")),
            person=str(t.get("person", "")),
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
    )
    pg = raw.get("paging", {})
    retries = pg.get("retry_seconds", [2, 8])
    if not isinstance(retries, list) or not all(isinstance(r, (int, float)) and r >= 0 for r in retries):
        raise ValueError(f"paging.retry_seconds must be a list of seconds, got {retries!r}")
    paging = PagingPolicy(
        repeat_minutes=_minutes(pg.get("repeat_minutes", 5), "paging.repeat_minutes").total_seconds() / 60,
        repeat_limit=int(pg.get("repeat_limit", 3)),
        quiet_severities=frozenset(Severity.parse(s) for s in pg.get("quiet_severities", ["P3"])),
        send_timeout_seconds=float(pg.get("send_timeout_seconds", 10)),
        retry_seconds=tuple(float(r) for r in retries),
        heads_up_minutes=_minutes(pg.get("heads_up_minutes", 30), "paging.heads_up_minutes").total_seconds() / 60,
        heartbeat_seconds=float(pg.get("heartbeat_seconds", 5)),
        watcher_stale_seconds=float(pg.get("watcher_stale_seconds", 30)),
    )
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
        paging=paging,
        sources=sources,
    )
