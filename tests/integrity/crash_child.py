"""A desk doing scripted actions as fast as it can, until it is killed.

Usage: crash_child.py DB RUN SEED

After each action commits it prints one JSON line naming it and flushes, so whatever the parent read
was committed before the SIGKILL. Every action writes a token unique to this run and action, so the
parent can find each one in the timeline (exactly once).
"""

from __future__ import annotations

import json
import random
import sys

from oncall_tui.desk import ActionRefused, Desk
from oncall_tui.policy import load_policy

FIELDS = ("impact", "eta", "root_cause", "assignee", "channel")


def main() -> None:
    path, run, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    desk = Desk.open(path, policy=load_policy(use_user_config=False), actor=f"crash{run}")
    open_numbers = [i.number for i in desk.incidents()]
    print(json.dumps({"ready": run}), flush=True)
    step = 0
    while True:
        step += 1
        token = f"r{run}s{step}"
        roll = rng.random()
        if not open_numbers or roll < 0.1:
            inc = desk.declare(f"incident {token}", severity=rng.choice(["P0", "P1", "P2", "P3", None]))
            open_numbers.append(inc.number)
            report("declare", inc.number, token)
            continue
        number = rng.choice(open_numbers)
        if roll < 0.2:
            try:
                desk.acknowledge(number)
            except ActionRefused:  # already acknowledged by an earlier run: nothing written
                continue
            report("ack", number, None)
        elif roll < 0.5:
            desk.note(number, f"note {token} " + "x" * rng.randrange(0, 3000))
            report("note", number, token)
        elif roll < 0.75:
            field = rng.choice(FIELDS)
            desk.edit(number, field, f"{field} {token}")
            report("edit", number, token, field=field)
        elif roll < 0.9:
            desk.record_message(number, template="update", text=f"update {token}", via="clipboard")
            report("message", number, token)
        else:
            desk.check_step(
                number,
                runbook="identity-service-outage",
                version="1",
                step=run * 100_000 + step,
                text=f"step {token}",
                checked=True,
            )
            report("step", number, token)


def report(action: str, number: int, token: str | None, **extra) -> None:
    print(json.dumps({"action": action, "incident": number, "token": token, **extra}), flush=True)


if __name__ == "__main__":
    main()
