"""The on-call team of the paging, schedule and override tests, written as a desk's config folder.

Three people in three zones (ava in Berlin, ben in New York, chen in Singapore) on weekly
rotations: primary (ava, ben; handoff 10:00 Berlin) and secondary (ben, chen; 09:00 New York).
Each test says which week the rotations start, where each person's pages go, and which escalation
policy it pages by.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

TEAM = (
    ("ava", "Ava Jones", "Europe/Berlin"),
    ("ben", "Ben Okafor", "America/New_York"),
    ("chen", "Chen Li", "Asia/Singapore"),
)

# Primary first, the Engineering Manager (chen) after half an hour.
PRIMARY_THEN_MANAGER = """\
[[escalation]]
after_minutes = 0
level = "Primary On-Call"
schedule = "primary"

[[escalation]]
after_minutes = 30
level = "Engineering Manager"
person = "chen"
"""

# Primary, then secondary after 30 minutes, then the Engineering Manager (chen) after an hour.
THREE_TIERS = """\
[[escalation]]
after_minutes = 0
level = "Primary On-Call"
schedule = "primary"

[[escalation]]
after_minutes = 30
level = "Secondary On-Call"
schedule = "secondary"

[[escalation]]
after_minutes = 60
level = "Engineering Manager"
person = "chen"
"""


def people_toml(notify: Mapping[str, str] | None = None, *, phones: Mapping[str, str] | None = None) -> str:
    """people.toml for the team; `notify`: each handle's page URL (none: nobody is paged)."""
    lines = []
    for handle, name, tz in TEAM:
        lines += [f"[people.{handle}]", f'name = "{name}"', f'tz = "{tz}"']
        if phones and handle in phones:
            lines.append(f'phone = "{phones[handle]}"')
        if notify is not None:
            lines.append(f'notify = ["{notify[handle]}"]')
        lines.append("")
    return "\n".join(lines)


def unreachable_urls() -> dict[str, str]:
    """Page URLs on a port nothing listens on (9, discard): for tests that look, not page."""
    return {handle: f"json://127.0.0.1:9/{handle}" for handle, _, _ in TEAM}


def schedules_toml(start: str, *, secondary: bool = True) -> str:
    """schedules.toml: the weekly rotations, from the Monday `start` (YYYY-MM-DD)."""
    text = f"""\
[schedules.primary]
tz = "Europe/Berlin"
[[schedules.primary.layers]]
name = "weekly"
rotation = ["ava", "ben"]
shift = "1w"
start = {start}
handoff = "10:00"
"""
    if secondary:
        text += f"""
[schedules.secondary]
tz = "America/New_York"
[[schedules.secondary.layers]]
name = "weekly"
rotation = ["ben", "chen"]
shift = "1w"
start = {start}
handoff = "09:00"
"""
    return text


def write_config(directory: Path, *, people: str, schedules: str, policy: str) -> Path:
    """The config folder ONCALL_TUI_CONFIG points at: people, schedules and policy."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "people.toml").write_text(people)
    (directory / "schedules.toml").write_text(schedules)
    (directory / "policy.toml").write_text(policy)
    return directory
