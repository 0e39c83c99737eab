"""One of two desks acting on the same incidents at the same time.

Usage: race_child.py DB ACTOR SEED ACTIONS   (then waits for a line on stdin, so both start together)

Each action reads what a user would see, pauses as briefly as a person never could, and acts with
that view as the expected value (compare-and-set). One JSON line per action says whether it was
committed, or refused and with which message.
"""

from __future__ import annotations

import json
import random
import sys
import time

from oncall_tui.desk import ActionRefused, Conflict, Desk, StoreError
from oncall_tui.model import Severity, Status
from oncall_tui.policy import load_policy

FIELDS = ("impact", "eta", "assignee")


def main() -> None:
    path, actor, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    desk = Desk.open(path, policy=load_policy(use_user_config=False), actor=actor)
    numbers = [i.number for i in desk.incidents()]
    print(json.dumps({"ready": actor}), flush=True)
    sys.stdin.readline()  # the starting gun
    for step in range(count):
        token = f"{actor}-{step}"
        number = rng.choice(numbers)
        roll = rng.random()
        record = {"step": step, "incident": number, "token": token}
        try:
            if roll < 0.2:
                record["action"] = "ack"
                desk.acknowledge(number)
            elif roll < 0.4:
                record["action"] = "note"
                desk.note(number, f"note {token}")
            elif roll < 0.75:
                field = rng.choice(FIELDS)
                record.update(action="edit", field=field)
                seen = getattr(desk.get(number), field)
                time.sleep(rng.uniform(0, 0.002))
                desk.edit(number, field, f"{field} {token}", expected=seen)
            elif roll < 0.9:
                record["action"] = "severity"
                seen = desk.get(number).severity
                target = rng.choice([s for s in Severity if s != seen])
                record["to"] = target.value
                time.sleep(rng.uniform(0, 0.002))
                desk.set_severity(number, target, expected=seen)
            else:
                record["action"] = "move"
                seen = desk.get(number).status
                target = Status.INVESTIGATING if seen is Status.ACKNOWLEDGED else Status.MITIGATED
                record["to"] = target.value
                time.sleep(rng.uniform(0, 0.002))
                desk.move(number, target, expected=seen)
            record["result"] = "committed"
        except Conflict as exc:
            record.update(result="conflict", message=str(exc))
        except ActionRefused as exc:
            record.update(result="refused", message=str(exc))
        except StoreError as exc:
            record.update(result="error", message=str(exc))
        print(json.dumps(record), flush=True)
    desk.close()


if __name__ == "__main__":
    main()
