"""The process's numbers, read from `data/policy.toml` and the user's override."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .model import Severity
from .paths import config_dir, data_dir
from .schema import ConfigError, Table, layered, read_toml, single_file

# A policy file that cannot be used; the message names the file, the key and what is allowed.
PolicyError = ConfigError


@dataclass(frozen=True, slots=True)
class EscalationTier:
    """One tier of the escalation matrix: who is reached how long after the start."""

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
    """A severity's name in this policy and the runbook's criteria for it."""

    severity: Severity
    name: str
    criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """[alerts]: what the desk takes from Alertmanager and how it maps alerts to incidents."""

    severity_map: dict[str, Severity] = field(default_factory=dict)
    service_labels: tuple[str, ...] = ("service",)
    poll_seconds: float = 5.0
    timeout_seconds: float = 5.0
    silence_on_ack: bool = True
    silence_minutes: int = 120
    group_by: tuple[str, ...] = ()
    # The desk's own silences are renewed while the incident is acknowledged and the alert fires.
    renew_silences: bool = True
    # After an Alertmanager restart (it comes back empty), how long before a missing alert counts
    # as stopped: Prometheus re-sends every alert within its resend interval (1 min by default).
    restart_grace_seconds: float = 60.0
    filter: str = ""  # Alertmanager matchers: the alerts this desk takes, e.g. '{team="db"}'
    receiver: str = ""  # a regex over receiver names, as Alertmanager's API takes it
    max_reply_mib: float = 256.0  # a larger answer is read up to here, with a loud warning
    # Labels whose values name the tenants an alert is about (each label may list several, comma-separated).
    tenant_labels: tuple[str, ...] = ("tenant",)
    # The always-firing alert whose absence means monitoring itself is down; "" when there is none.
    watchdog: str = "Watchdog"

    @property
    def grace_seconds(self) -> float:
        """A restarted Alertmanager's grace: the resend interval, and never under three polls."""
        return max(self.restart_grace_seconds, 3 * self.poll_seconds)


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
    """The process's numbers: deadlines, escalation, severities, roles, alert intake and paging."""

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


def _alert_filter(value: object, source: object) -> str:
    """`[alerts] filter` checked at load: a typo must not silently widen or empty the desk's intake."""
    text = str(value or "")
    if not text.strip():  # no filter (the usual case): nothing to check, nor the parser to import
        return text
    from .alerts.matchers import MatcherError, parse_matchers

    try:
        parse_matchers(text)
    except MatcherError as exc:
        raise PolicyError(f"{source}: [alerts] filter: {exc}") from None
    return text


def default_policy_path() -> Path:
    return data_dir() / "policy.toml"


def load_policy(override: Path | None = None, *, use_user_config: bool = True) -> Policy:
    """The shipped policy, merged with the user's (`override`, else the config dir's policy.toml).

    Every value is checked (see schema.py): a bad one is a PolicyError naming the file that holds it,
    the key, the value and what is allowed.
    """
    shipped = default_policy_path()
    layers = [(shipped, read_toml(shipped))]
    user = override
    if user is None and use_user_config:
        candidate = config_dir() / "policy.toml"
        user = candidate if _exists(candidate) else None
    elif user is not None and not _exists(user):
        raise PolicyError(f"{user}: no such policy file")
    if user is not None:
        layers.append((user, read_toml(user)))
    raw = layers[0][1]
    for _, over in layers[1:]:
        raw = _merge(raw, over)
    return _build(raw, tuple(str(p) for p, _ in layers), layered(layers[0], *layers[1:]))


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # e.g. a config folder the user cannot enter
        raise PolicyError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_SEVERITIES = "P0, P1, P2 or P3"
_WEEK_MINUTES = 7 * 24 * 60
_YEAR_HOURS = 366 * 24


def _minutes(table: Table, key: str, default: float | None, *, low: float = 0) -> timedelta:
    return timedelta(minutes=table.number(key, default, low=low, high=_WEEK_MINUTES, unit="minutes, up to a week"))


def _hours(table: Table, key: str, default: float) -> timedelta:
    return timedelta(hours=table.number(key, default, low=0, high=_YEAR_HOURS, unit="hours, up to a year"))


def _build(raw: dict[str, Any], sources: tuple[str, ...], where: Any = None) -> Policy:
    top = Table(raw, "policy", where or single_file(Path(sources[-1])))
    dl = top.table("deadlines")
    review = top.table("review")

    tiers = []
    for t in top.tables("escalation"):
        level = t.text("level", required=True).strip()
        if not level:
            raise t.fail("level", level, 'must name the level, e.g. "Secondary On-Call"')
        tiers.append(
            EscalationTier(
                after=_minutes(t, "after_minutes", None),
                level=level,
                contact=t.text("contact"),
                schedule=t.text("schedule").strip(),
                person=t.text("person").strip(),
            )
        )
    if not tiers:
        raise PolicyError(f"{sources[-1]}: the escalation matrix is empty")
    escalation = tuple(sorted(tiers, key=lambda t: t.after))

    sev_table = top.table("severity")
    severities = {}
    for sev in Severity:
        info = sev_table.table(sev.value)
        severities[sev] = SeverityInfo(sev, info.text("name", sev.value), info.texts("criteria"))

    updates_table = top.table("updates")
    updates = {
        updates_table.choice(key, key, Severity.parse, _SEVERITIES): _minutes(updates_table, key, 60, low=1)
        for key, _ in updates_table.items()
    }

    al = top.table("alerts")
    severity_map_table = al.table("severity_map")
    alerts = AlertPolicy(
        severity_map={
            str(k).lower(): severity_map_table.choice(k, v, Severity.parse, _SEVERITIES)
            for k, v in severity_map_table.items()
        },
        service_labels=al.texts("service_labels", ("service",)),
        poll_seconds=float(al.number("poll_seconds", 5, low=1, high=3600, unit="seconds")),
        timeout_seconds=float(al.number("timeout_seconds", 5, low=0, high=300, unit="seconds", above=True)),
        silence_on_ack=al.flag("silence_on_ack", True),
        silence_minutes=int(al.number("silence_minutes", 120, low=1, high=_WEEK_MINUTES, unit="minutes", whole=True)),
        group_by=al.texts("group_by"),
        tenant_labels=al.texts("tenant_labels", ("tenant",)),
        watchdog=al.text("watchdog", "Watchdog").strip(),
        renew_silences=al.flag("renew_silences", True),
        restart_grace_seconds=float(al.number("restart_grace_seconds", 60, low=0, high=3600, unit="seconds")),
        filter=_alert_filter(al.text("filter"), sources[-1]),
        receiver=al.text("receiver"),
        max_reply_mib=float(al.number("max_reply_mib", 256, low=1, high=4096, unit="MiB")),
    )
    pg = top.table("paging")
    retries = pg.raw.get("retry_seconds", [2, 8]) if isinstance(pg.raw, dict) else [2, 8]
    if not isinstance(retries, list) or not all(
        isinstance(r, (int, float)) and not isinstance(r, bool) and 0 <= r <= 600 for r in retries
    ):
        raise pg.fail("retry_seconds", retries, "must be a list of waits in seconds, e.g. [2, 8]")
    paging = PagingPolicy(
        repeat_minutes=float(pg.number("repeat_minutes", 5, low=0, high=_WEEK_MINUTES, unit="minutes", above=True)),
        repeat_limit=int(pg.number("repeat_limit", 3, low=0, high=100, unit="repeats", whole=True)),
        quiet_severities=frozenset(pg.choices("quiet_severities", ["P3"], Severity.parse, _SEVERITIES)),
        send_timeout_seconds=float(pg.number("send_timeout_seconds", 10, low=0, high=300, unit="seconds", above=True)),
        retry_seconds=tuple(float(r) for r in retries),
        heads_up_minutes=float(pg.number("heads_up_minutes", 30, low=0, high=_WEEK_MINUTES, unit="minutes")),
        heartbeat_seconds=float(pg.number("heartbeat_seconds", 5, low=1, high=600, unit="seconds")),
        watcher_stale_seconds=float(pg.number("watcher_stale_seconds", 30, low=2, high=3600, unit="seconds")),
    )
    try:
        roles = tuple(_role(t.raw) for t in top.tables("role"))
        if len({r.id for r in roles}) != len(roles):
            raise ValueError("two [[role]] tables share an id")
        suggest = tuple(_rule(t.raw) for t in top.tables("suggest"))
    except ValueError as exc:
        raise PolicyError(f"{sources[-1]}: {exc}") from None
    opens, due = _hours(review, "window_opens_hours", 24), _hours(review, "due_hours", 48)
    if due < opens:
        raise review.fail("due_hours", review.raw.get("due_hours"), "must not be before window_opens_hours")
    return Policy(
        acknowledge=_minutes(dl, "acknowledge_minutes", 5),
        severity=_minutes(dl, "severity_minutes", 15),
        stakeholders=_minutes(dl, "stakeholders_minutes", 15),
        stakeholder_severities=frozenset(
            dl.choices("stakeholders_severities", ["P0", "P1"], Severity.parse, _SEVERITIES)
        ),
        warn_fraction=float(dl.number("warn_fraction", 0.2, low=0, high=0.9, unit="the share of a deadline left")),
        update_cadence=updates,
        review_severities=frozenset(review.choices("severities", ["P0", "P1"], Severity.parse, _SEVERITIES)),
        review_opens=opens,
        review_due=due,
        escalation=escalation,
        escalation_severities=frozenset(
            top.table("escalation_policy").choices("severities", ["P0", "P1"], Severity.parse, _SEVERITIES)
        ),
        severities=severities,
        alerts=alerts,
        paging=paging,
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
