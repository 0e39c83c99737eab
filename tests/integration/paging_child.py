"""A paging process for the exactly-once test: looks every 50 ms until it is killed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from oncall_tui.desk import Desk
from oncall_tui.notify.pager import Pager
from oncall_tui.policy import load_policy
from oncall_tui.roster import RosterSource


def main() -> None:
    db, config = sys.argv[1], Path(sys.argv[2])
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(db, policy=policy, actor=f"pager-{os.getpid()}")
    pager = Pager(desk, RosterSource(policy, config), kind="agent")
    print("ready", flush=True)
    while True:
        pager.step()
        time.sleep(0.05)


if __name__ == "__main__":
    main()
