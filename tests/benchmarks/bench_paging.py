"""Paging speed: breach → page request at the receiver, and what an idle agent costs.

    .venv/bin/python tests/benchmarks/bench_paging.py [--trials 20] [--idle-seconds 60]

1. A real `oncall-tui agent` watches a desk file; incidents are declared so that each one's
   acknowledge deadline runs out a moment later. The figure is the time from the deadline instant to
   the second-level page arriving at a local HTTP receiver (ntfy over Apprise): the agent's one-second
   tick, the decision, the claim (an fsync'd transaction), Apprise and the HTTP request. Target: median
   under 1 s, p95 under 2 s.
2. The same agent with nothing to do for `--idle-seconds`: its CPU time (user + system, from /proc)
   as a share of one core, beside a bare Python process sleeping in a one-second loop measured over
   the same window. Target: under 1 %.

Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from paging_fixtures import POLICY, write_config
from paging_receivers import HttpReceiver

from oncall_tui.clock import SystemClock
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy

EXE = str(Path(sys.executable).with_name("oncall-tui"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def start_agent(db: Path, config: Path) -> subprocess.Popen:
    env = {**os.environ, "ONCALL_TUI_DB": str(db), "ONCALL_TUI_CONFIG": str(config)}
    agent = subprocess.Popen([EXE, "agent"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = agent.stdout.readline()
    if "paging" not in line:
        raise SystemExit(f"the agent did not start: {line}{agent.stderr.read()}")
    return agent


def bench_breach_to_page(trials: int) -> list[float]:
    receiver = HttpReceiver()
    work = Path(tempfile.mkdtemp(prefix="bench-paging-"))
    urls = {h: receiver.ntfy(h) for h in ("ava", "ben", "chen")}
    config = write_config(
        work / "config", urls=urls, policy=POLICY.replace("repeat_minutes = 5", "repeat_minutes = 600")
    )
    db = work / "desk.db"
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(db, policy=policy, clock=SystemClock(), actor="bench")
    agent = start_agent(db, config)
    due: dict[int, datetime] = {}
    try:
        for i in range(trials):
            lead = 1.5 + (i % 7) * 0.137  # spread the deadlines over the tick's phase
            started = datetime.now(UTC) - policy.acknowledge + timedelta(seconds=lead)
            inc = desk.declare(f"Bench {i}", severity="P1", started_at=started)
            due[inc.number] = started + policy.acknowledge
            time.sleep(0.4)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum("Secondary" in str(h.body) for h in receiver.hits) >= trials:
                break
            time.sleep(0.05)
    finally:
        agent.terminate()
        agent.wait(30)
        receiver.stop()
    # Hits carry a monotonic stamp; turn it into wall time with one paired reading.
    offset = time.time() - time.monotonic()
    latencies = []
    for hit in receiver.hits:
        body = hit.body.get("message", "")
        if "Secondary On-Call" not in body:
            continue
        number = int(hit.body.get("title", "").split("INC-")[1].split()[0])
        arrived = datetime.fromtimestamp(hit.at + offset, UTC)
        latencies.append((arrived - due[number]).total_seconds())
    return latencies


def bench_idle(seconds: float) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    config = write_config(work / "config", urls={h: f"json://127.0.0.1:9/{h}" for h in ("ava", "ben", "chen")})
    agent = start_agent(work / "desk.db", config)
    bare = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    try:
        time.sleep(3)  # past startup
        a0, b0, t0 = cpu_seconds(agent.pid), cpu_seconds(bare.pid), time.monotonic()
        time.sleep(seconds)
        a1, b1, t1 = cpu_seconds(agent.pid), cpu_seconds(bare.pid), time.monotonic()
    finally:
        agent.terminate()
        bare.terminate()
        agent.wait(30)
        bare.wait(30)
    span = t1 - t0
    return 100 * (a1 - a0) / span, 100 * (b1 - b0) / span


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60)
    args = parser.parse_args()
    ok = True
    latencies = sorted(bench_breach_to_page(args.trials))
    if len(latencies) < args.trials:
        print(f"only {len(latencies)} of {args.trials} second-level pages arrived")
        ok = False
    if latencies:
        median = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        print(
            f"breach → page at the receiver: median {median:.3f} s, p95 {p95:.3f} s, max {latencies[-1]:.3f} s "
            f"over {len(latencies)} breaches (targets 1 s / 2 s)"
        )
        ok &= median < 1.0 and p95 < 2.0
    agent_cpu, bare_cpu = bench_idle(args.idle_seconds)
    print(
        f"idle agent over {args.idle_seconds:g} s: {agent_cpu:.2f} % of a core "
        f"(a bare sleeping Python loop: {bare_cpu:.2f} %; target under 1 %)"
    )
    ok &= agent_cpu < 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
