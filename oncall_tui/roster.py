"""The roster as the running desk sees it: read from the config directory, checked against the
policy's escalation levels, re-read when a file changes, and the last good one kept when an edit
breaks it (the desk goes on paging the people it knew, and says what is wrong and where)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .paths import config_dir
from .policy import EscalationTier, Policy
from .schedules import Override, Roster, RosterError, load_roster


@dataclass(frozen=True, slots=True)
class Target:
    """Who a level reaches at one instant, or why nobody."""

    person: str | None
    why_nobody: str = ""
    schedule: str = ""


def check_levels(roster: Roster, policy: Policy) -> None:
    """Each level's schedule or person exists, so a typo is an error today, not silence at 3 a.m."""
    for tier in policy.escalation:
        if tier.schedule and tier.schedule not in roster.schedules:
            known = ", ".join(sorted(roster.schedules)) or "none defined"
            raise RosterError(
                f"policy level {tier.level!r} names schedule {tier.schedule!r}, which schedules.toml does not "
                f"define ({known})"
            )
        if tier.person and tier.person not in roster.people:
            raise RosterError(f"policy level {tier.level!r} names person {tier.person!r}, who is not in people.toml")


def resolve(roster: Roster, tier: EscalationTier, moment: datetime, overrides: list[Override]) -> Target:
    if tier.person:
        return Target(tier.person)
    if tier.schedule:
        if tier.schedule not in roster.schedules:
            return Target(None, f"schedule {tier.schedule!r} is not in schedules.toml", tier.schedule)
        who = roster.holder(tier.schedule, moment, overrides)
        if who is None:
            return Target(None, f"nobody holds {tier.schedule} now (a gap in its layers)", tier.schedule)
        return Target(who, schedule=tier.schedule)
    return Target(None, f"no one is set for {tier.level}: give it schedule= or person= in policy.toml")


class RosterSource:
    """The current roster; `problem` says why the files on disk are not the ones in use."""

    def __init__(self, policy: Policy, directory: Path | None = None) -> None:
        self.policy = policy
        self.directory = directory or config_dir()
        self.roster = Roster()
        self.problem = ""
        self._stamp: tuple[tuple[str, float, int], ...] | None = None

    def _files_stamp(self) -> tuple[tuple[str, float, int], ...]:
        out = []
        for name in ("people.toml", "schedules.toml"):
            try:
                st = os.stat(self.directory / name)
                out.append((name, st.st_mtime, st.st_size))
            except OSError:
                out.append((name, 0.0, -1))
        return tuple(out)

    def get(self) -> Roster:
        """The roster, re-read if a file changed since the last call (two stats when nothing did)."""
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return self.roster
        self._stamp = stamp
        try:
            roster = load_roster(self.directory)
            check_levels(roster, self.policy) if roster.configured else None
        except RosterError as exc:
            self.problem = str(exc) + (" — still using the last good roster" if self.roster.configured else "")
            return self.roster
        self.roster, self.problem = roster, ""
        return roster


@dataclass(frozen=True, slots=True)
class Holding:
    """Who holds one escalation level now, until when, and who is next."""

    level: str
    target: str  # "schedule primary", "person ava", or "" when the level names nobody
    person: str | None
    until: datetime | None
    next_person: str | None
    next_at: datetime | None
    why_nobody: str = ""


def holdings(roster: Roster, policy: Policy, now: datetime, overrides: list[Override]) -> list[Holding]:
    out = []
    for tier in policy.escalation:
        if tier.schedule and tier.schedule in roster.schedules:
            current, nxt = roster.current(tier.schedule, now, overrides)
            out.append(
                Holding(
                    tier.level,
                    f"schedule {tier.schedule}",
                    current.person if current else None,
                    current.ends_at if current else None,
                    nxt.person if nxt else None,
                    nxt.starts_at if nxt else None,
                    "" if current and current.person else f"nobody holds {tier.schedule} now",
                )
            )
        else:
            t = resolve(roster, tier, now, overrides)
            out.append(
                Holding(
                    tier.level, f"person {tier.person}" if tier.person else "", t.person, None, None, None, t.why_nobody
                )
            )
    return out
