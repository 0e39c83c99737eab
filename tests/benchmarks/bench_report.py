"""`oncall-tui report` on a desk of 10,000 incidents must answer in under a second.

Run it as a script (prints the figures) or with pytest (asserts them):

    .venv/bin/python tests/benchmarks/bench_report.py [--count 10000] [--runs 5] [--keep PATH]
    .venv/bin/pytest tests/benchmarks/bench_report.py -q -p no:cacheprovider

The history is written straight into the tables in one transaction — the shape the desk leaves
behind (milestones, a hash-chained timeline per incident, runbook checks, action items), spread over
the last 30 days so the default report period holds all of it. Playing 10,000 incidents through
`Desk` actions one transaction at a time would take minutes and measure nothing more.

The timing is of the whole process, as a person runs it: interpreter start, imports, opening the
file, the queries and the printing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from oncall_tui.clock import iso
from oncall_tui.store import Store, canonical_json, event_hash

UTC = UTC
EXE = str(Path(sys.executable).with_name("oncall-tui"))
LIMIT_SECONDS = 1.0
SEVERITIES = ("P0", "P1", "P1", "P2", "P2", "P2", "P3", None)
PEOPLE = ("ava", "sam", "dana", "lee", "kim", "raj")
TITLES = ("Login failures", "Policy evaluation timeouts", "Slow API responses", "Webhook deliveries delayed")
INCIDENT_COLUMNS = (
    "number",
    "title",
    "status",
    "severity",
    "services",
    "impact",
    "channel",
    "assignee",
    "symptom",
    "eta",
    "root_cause",
    "resolution",
    "prevention",
    "contributing_factors",
    "source",
    "fingerprint",
    "labels",
    "started_at",
    "declared_at",
    "acknowledged_at",
    "severity_at",
    "notified_at",
    "last_update_at",
    "next_update_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "review_scheduled_for",
    "review_done_at",
    "acknowledged_by",
    "review_waived",
    "alert_state",
    "silence_id",
    "version",
    "head_hash",
)


def build_history(path: Path, count: int, now: datetime, *, seed: int = 7, days: float = 30) -> None:
    rng = random.Random(seed)
    store = Store.open(path)
    conn = store.conn
    conn.execute("PRAGMA synchronous = OFF")  # generated data: nothing to lose on power failure
    incidents, events, items = [], [], []
    seq = 0
    for number in range(1, count + 1):
        started = now - timedelta(minutes=rng.uniform(1, days * 1440))
        declared = started + timedelta(seconds=rng.uniform(0, 180))
        sev = rng.choice(SEVERITIES)
        who = rng.choice(PEOPLE)
        row = dict.fromkeys(INCIDENT_COLUMNS, None)
        row.update(
            number=number,
            title=rng.choice(TITLES),
            status="triggered",
            severity=sev,
            services='["api"]',
            impact="Generated",
            channel="",
            assignee="",
            symptom="",
            eta="",
            root_cause="",
            resolution="",
            prevention="",
            contributing_factors="",
            source="manual",
            fingerprint="",
            labels="{}",
            started_at=iso(started),
            declared_at=iso(declared),
            severity_at=iso(declared) if sev else None,
            acknowledged_by="",
            review_waived="",
            alert_state="",
            silence_id="",
            version=1,
        )
        timeline = [(declared, "pagerbot", "declared", {"title": row["title"], "severity": sev})]

        def happen(at: datetime, actor: str, kind: str, details: dict, **changes) -> bool:
            if at >= now:
                return False
            timeline.append((at, actor, kind, details))
            row.update({k: iso(v) if isinstance(v, datetime) else v for k, v in changes.items()})
            return True

        ack = declared + timedelta(minutes=rng.lognormvariate(1.0, 0.9))
        if rng.random() < 0.93 and happen(
            ack, who, "acknowledged", {}, status="acknowledged", acknowledged_at=ack, acknowledged_by=who
        ):
            if ack > started + timedelta(minutes=5):
                happen(
                    started + timedelta(minutes=5, seconds=30),
                    "desk",
                    "deadline_breached",
                    {"deadline": "acknowledge", "label": "Acknowledge", "due_at": iso(started + timedelta(minutes=5))},
                )
            if sev in ("P0", "P1") and rng.random() < 0.9:
                sent = started + timedelta(minutes=rng.uniform(4, 22))
                happen(
                    max(sent, ack),
                    who,
                    "message_sent",
                    {"template": "initial", "via": "clipboard", "text": "…"},
                    notified_at=max(sent, ack),
                    last_update_at=max(sent, ack),
                )
            for step in range(rng.randrange(4)):
                conn.execute(
                    "INSERT INTO checks VALUES (?, ?, ?, 1, ?, ?)",
                    [number, "identity-service-outage", step + 1, iso(ack), who],
                )
            resolved = ack + timedelta(minutes=rng.uniform(10, 360))
            if rng.random() < 0.9 and happen(
                resolved,
                who,
                "status_changed",
                {"from": "acknowledged", "to": "resolved"},
                status="resolved",
                mitigated_at=resolved,
                resolved_at=resolved,
                root_cause="Generated",
                resolution="Generated",
            ):
                major = sev in ("P0", "P1")
                reviewed = resolved + timedelta(hours=rng.uniform(18, 60))
                if (
                    major
                    and rng.random() < 0.7
                    and happen(reviewed, who, "review_completed", {}, review_done_at=reviewed)
                ):
                    for k in range(rng.randrange(4)):
                        items.append(
                            (
                                number,
                                f"Follow-up {k + 1}",
                                rng.choice(PEOPLE),
                                (reviewed + timedelta(days=7)).date().isoformat(),
                                int(rng.random() < 0.5),
                                iso(reviewed),
                                1,
                            )
                        )
                if not major or row["review_done_at"]:
                    closed = resolved + timedelta(hours=rng.uniform(1, 72))
                    happen(
                        closed,
                        who,
                        "status_changed",
                        {"from": "resolved", "to": "closed"},
                        status="closed",
                        closed_at=closed,
                    )
        prev = ""
        for at, actor, kind, details in timeline:
            seq += 1
            body = canonical_json(details)
            digest = event_hash(prev, number, iso(at), actor, kind, body)
            events.append((seq, number, iso(at), actor, kind, body, prev, digest))
            prev = digest
        row["head_hash"] = prev
        row["version"] = len(timeline)
        incidents.append(tuple(row[c] for c in INCIDENT_COLUMNS))
    with store.write():
        conn.executemany(
            f"INSERT INTO incidents ({', '.join(INCIDENT_COLUMNS)}) VALUES ({', '.join('?' * len(INCIDENT_COLUMNS))})",
            incidents,
        )
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
        conn.executemany(
            "INSERT INTO action_items (incident, title, owner, due, done, created_at, version) VALUES (?,?,?,?,?,?,?)",
            items,
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def time_report(path: Path, runs: int, *extra: str) -> list[float]:
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run([EXE, "report", "--db", str(path), *extra], check=True, capture_output=True)
        times.append(time.perf_counter() - begin)
    return times


def test_report_on_ten_thousand_incidents_answers_under_one_second(tmp_path):
    db = tmp_path / "bench.db"
    build_history(db, 10_000, datetime.now(UTC))
    time_report(db, 1)  # warm the page cache, as a second look at the report would
    for extra in ((), ("--json",)):
        median = statistics.median(time_report(db, 5, *extra))
        assert median < LIMIT_SECONDS, f"report {' '.join(extra)} took {median:.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="also copy the generated database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        begin = time.perf_counter()
        build_history(db, args.count, datetime.now(UTC))
        print(f"built {args.count:,} incidents in {time.perf_counter() - begin:.1f} s")
        if args.keep:
            shutil.copy(db, args.keep)
        time_report(db, 1)
        ok = True
        for extra in ((), ("--json",)):
            times = time_report(db, args.runs, *extra)
            median = statistics.median(times)
            ok &= median < LIMIT_SECONDS
            print(
                f"oncall-tui report {' '.join(extra):<7} median {median:.3f} s  "
                f"(min {min(times):.3f}, max {max(times):.3f}, {args.runs} runs)"
            )
        baseline = statistics.median([_timed([EXE, "--version"]) for _ in range(args.runs)])
        print(f"oncall-tui --version  median {baseline:.3f} s  (interpreter and imports alone)")
    return 0 if ok else 1


def _timed(cmd: list[str]) -> float:
    begin = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - begin


if __name__ == "__main__":
    sys.exit(main())
