"""A desk full of realistic incidents, for `--demo`, screenshots and benchmarks.

Each incident is played through the real `Desk` actions on a clock that walks through its history,
so its timeline, milestones and hash chain are exactly what a real night would have left behind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import FrozenClock
from .desk import Desk
from .model import Severity, Status


@dataclass
class _Script:
    desk: Desk
    clock: FrozenClock
    now: datetime

    def at(self, minutes_ago: float, actor: str = "") -> Desk:
        """The desk as it was `minutes_ago`, acting as `actor`."""
        self.clock.set(self.now - timedelta(minutes=minutes_ago))
        self.desk.actor = actor or self.desk.actor
        return self.desk


def _script(desk: Desk) -> _Script:
    clock = FrozenClock(desk.now())
    player = Desk(desk.store, desk.policy, clock, actor="pagerbot")
    return _Script(player, clock, desk.now())


def _hhmm(moment: datetime, *, zone: bool = False) -> str:
    """A time of day as an engineer writes it in a note, in the zone of the person reading the demo."""
    return moment.astimezone().strftime("%H:%M %Z" if zone else "%H:%M")


def _round_up(moment: datetime, minutes: int = 15) -> datetime:
    """The next quarter hour: an ETA a person gives, not a computed instant."""
    step = timedelta(minutes=minutes)
    return moment + (datetime.min.replace(tzinfo=moment.tzinfo) - moment) % step


def seed_demo(desk: Desk, *, extra: int = 0, seed: int = 7) -> None:
    """Fill `desk` with a night's worth of incidents across severities and states."""
    s = _script(desk)

    # A P0 that just paged: nobody has acknowledged yet, its 5-minute clock is running.
    i = s.at(3, "pagerbot").declare(
        "Login failures across all tenants",
        severity=Severity.P0,
        services=["identity", "api-gateway"],
        impact="Users cannot sign in; 92% of /auth/token requests return 503",
        channel="#inc-identity",
        symptom="identity-service-outage",
        started_at=s.now - timedelta(minutes=4),
    )

    # A P1 acknowledged 12 minutes ago; stakeholders not told yet and the clock is close.
    i = s.at(13, "pagerbot").declare(
        "Governance operations failing: policy evaluation timeouts",
        severity=Severity.P1,
        services=["compliance"],
        impact="Retention and legal-hold changes fail for all tenants",
        channel="#inc-compliance",
        symptom="compliance-service-failure",
        started_at=s.now - timedelta(minutes=14),
    )
    s.at(12, "dana").acknowledge(i.number)
    s.at(11, "dana").assign(i.number, "dana")
    s.at(10, "dana").move(i.number, Status.INVESTIGATING)
    deploy = s.now - timedelta(minutes=31)  # shortly before it began: the change that set it off
    s.at(6, "dana").note(i.number, f"Policy cache hit rate down to 12% after the {_hhmm(deploy)} deploy")

    # A P1 well under way: notified, an update promised, runbook steps ticked.
    i = s.at(52, "pagerbot").declare(
        "API p99 latency above SLO (2.4 s)",
        severity=Severity.P1,
        services=["api", "postgres"],
        impact="Dashboards and exports slow for EU tenants; no errors",
        channel="#inc-latency",
        symptom="database-performance-issues",
        started_at=s.now - timedelta(minutes=55),
    )
    s.at(50, "sam").acknowledge(i.number)
    s.at(49, "sam").assign(i.number, "sam")
    s.at(47, "sam").move(i.number, Status.INVESTIGATING)
    s.at(44, "sam").record_message(
        i.number,
        template="initial",
        via="clipboard",
        text="[P1] Service Issue: api, postgres\n- Impact: Dashboards and exports slow for EU tenants\n- Status: Under Investigation\n- Assigned: sam",
    )
    for step, text in enumerate(("Check database connection pool", "Review slow query logs"), start=1):
        s.at(40 - step * 4, "sam").check_step(
            i.number, runbook="database-performance-issues", version="1", step=step, text=text, checked=True
        )
    eta = _hhmm(_round_up(s.now + timedelta(minutes=40)), zone=True)  # promised 25 minutes ago, still ahead
    s.at(25, "sam").edit(i.number, "eta", eta)
    s.at(20, "sam").record_message(
        i.number,
        template="update",
        via="clipboard",
        text=(
            "[P1] Service Issue: api, postgres\n- Status: Slow query found on tenant_events (missing index)\n"
            f"- ETA: {eta}\n- Next Update: in 30 min"
        ),
        next_update_at=s.now + timedelta(minutes=10),
    )

    # Severity not determined yet: the 15-minute clock runs (an alert-born incident).
    s.at(7, "alertmanager").declare(
        "KubePodCrashLooping: billing-worker",
        services=["billing"],
        impact="billing-worker restarting every 40 s; invoices queue growing",
        started_at=s.now - timedelta(minutes=8),
        source="alert",
        fingerprint="6f1c2a9e4b7d0c31",
        labels={"alertname": "KubePodCrashLooping", "service": "billing", "namespace": "payments"},
    )

    # Mitigated: fix deployed, monitoring for recurrence.
    i = s.at(140, "pagerbot").declare(
        "Session store connection storms (Redis)",
        severity=Severity.P1,
        services=["identity", "redis"],
        impact="Intermittent logouts for ~5% of sessions",
        channel="#inc-sessions",
        started_at=s.now - timedelta(minutes=142),
    )
    s.at(138, "lee").acknowledge(i.number)
    s.at(137, "lee").assign(i.number, "lee")
    s.at(136, "lee").move(i.number, Status.INVESTIGATING)
    s.at(128, "lee").record_message(
        i.number, template="initial", via="clipboard", text="[P1] Service Issue: identity, redis"
    )
    s.at(75, "lee").edit(i.number, "root_cause", "Connection pool max raised to 2,000 by config drift")
    s.at(70, "lee").move(i.number, Status.MITIGATED)

    # A P2 and a P3 sitting in the queue.
    i = s.at(95, "pagerbot").declare(
        "Single user cannot register a WebAuthn key",
        severity=Severity.P2,
        services=["identity"],
        impact="One user (tenant acme) blocked from adding a security key",
        channel="#support-escalations",
    )
    s.at(90, "kim").acknowledge(i.number)
    s.at(89, "kim").assign(i.number, "kim")
    i = s.at(300, "kim").declare(
        "Status page links to an outdated runbook",
        severity=Severity.P3,
        services=["docs"],
        impact="Workaround: runbook is in the repo",
    )
    s.at(298, "kim").acknowledge(i.number)

    # Resolved P0 from last night: its post-incident review is due.
    i = s.at(22 * 60, "pagerbot").declare(
        "Tenant export served another tenant's files",
        severity=Severity.P0,
        services=["exports", "storage"],
        impact="3 exports from tenant globex contained files from tenant initech",
        channel="#inc-export-isolation",
        started_at=s.now - timedelta(hours=22, minutes=2),
    )
    s.at(22 * 60 - 2, "ava").acknowledge(i.number)
    s.at(22 * 60 - 3, "ava").assign(i.number, "ava")
    s.at(22 * 60 - 9, "ava").record_message(
        i.number, template="initial", via="clipboard", text="[P0] Service Issue: exports, storage"
    )
    s.at(22 * 60 - 10, "ava").move(i.number, Status.INVESTIGATING)
    s.at(21 * 60, "ava").edit(i.number, "root_cause", "Export worker reused a signed URL cache across tenants")
    s.at(21 * 60, "ava").edit(i.number, "resolution", "Cache keyed by tenant; affected links revoked")
    s.at(21 * 60, "ava").edit(i.number, "prevention", "Tenant isolation test in the export pipeline")
    s.at(20 * 60, "ava").move(i.number, Status.RESOLVED)

    if extra:
        seed_bulk(desk, extra, seed=seed)
    desk.actor = desk.actor  # the caller's desk keeps its own actor and clock


_TITLES = (
    ("Login failures for tenant {t}", ["identity"], "identity-service-outage"),
    ("Token refresh errors spiking", ["identity", "api-gateway"], "identity-service-outage"),
    ("Policy evaluation timeouts", ["compliance"], "compliance-service-failure"),
    ("Legal hold sync lagging", ["compliance", "storage"], "compliance-service-failure"),
    ("Slow API responses on /search", ["api", "postgres"], "database-performance-issues"),
    ("Connection pool exhausted on primary", ["postgres"], "database-performance-issues"),
    ("Webhook deliveries delayed", ["notifications"], ""),
    ("Export jobs stuck in queue", ["exports"], ""),
)
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")
_PEOPLE = ("ava", "sam", "dana", "lee", "kim", "raj")


def seed_bulk(desk: Desk, count: int, *, seed: int = 7, open_share: float = 1.0, span_days: float = 0.0) -> None:
    """`count` more incidents in assorted states, for benchmarks and reports.

    `span_days` spreads their start times over that many past days (0: the last few hours);
    `open_share` is the fraction left open.
    """
    rng = random.Random(seed)
    s = _script(desk)
    with desk.store.bulk_fill():
        for _ in range(count):
            title, services, symptom = rng.choice(_TITLES)
            age = rng.uniform(1, span_days * 1440) if span_days else rng.uniform(1, 600)
            sev = rng.choice((Severity.P0, Severity.P1, Severity.P1, Severity.P2, Severity.P2, Severity.P3, None))
            who = rng.choice(_PEOPLE)
            inc = s.at(age, "pagerbot").declare(
                title.format(t=rng.choice(_TENANTS)),
                severity=sev,
                services=services,
                impact="Generated for load",
                symptom=symptom,
            )
            if rng.random() < 0.8 and age > 1:
                s.at(age - rng.uniform(0.5, min(age, 12)), who).acknowledge(inc.number)
                if rng.random() < (1 - open_share) and sev is not None:
                    t = max(0.0, age - rng.uniform(10, 200))
                    d = s.at(t, who)
                    d.move(inc.number, Status.INVESTIGATING)
                    d.edit(inc.number, "root_cause", "Generated")
                    d.edit(inc.number, "resolution", "Generated")
                    d.move(inc.number, Status.RESOLVED)
