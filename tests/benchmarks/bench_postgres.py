"""Team mode's budgets with 1,000 open incidents on PostgreSQL, beside the desk file's and a bare
Textual app's, all measured in the same run.

    .venv/bin/python tests/benchmarks/bench_postgres.py [--incidents 1000] [--runs 5] [--actions 50] [--changes 20]

A real PostgreSQL 15 is started for the run (tests/support/postgres.py: initdb and pg_ctl in a
temporary folder, on loopback; the desks reach it over TCP with a password, as a team's would). The
1,000-incident desk is built once as a file and moved to the server with `migrate`, so both
backends hold the same record. Measured:

- first paint: from spawning the process to the end of the first frame written, started as
  `oncall-tui --db …` starts, on a real pseudo-terminal (bench_board.py's harness), median of
  `--runs`, interleaved: the bare app, the board on the file, the board on PostgreSQL; budget: the
  board on PostgreSQL at most 1.5x the bare app's.
- an action's latency: `note` through the desk (one transaction: lock, read, check, write, append),
  median of `--actions`, on each backend.
- another desk's commit → this board repainted: a board runs in its own process on a pty; this
  process declares incidents through a desk of its own at random moments; the board's child notes
  when the first frame showing each one was written. PostgreSQL pushes the commit (LISTEN/NOTIFY);
  a desk file is polled by the board's 1 s tick. Median of `--changes`; budget: under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for support.postgres

import bench_board  # noqa: E402

BUDGETS = {"first_paint_ratio": 1.5, "change_ms": 1000.0}


def board_app(db: str):
    from oncall_tui.config import DeskOptions
    from oncall_tui.desk import Desk
    from oncall_tui.paths import db_target
    from oncall_tui.policy import load_policy
    from oncall_tui.ui.app import OncallApp

    desk = Desk.open(db, policy=load_policy(use_user_config=False), actor="bench")
    return OncallApp(desk, DeskOptions(db_path=db_target(db)), clock=None)


def change_child(db: str, out: str, first: int, count: int) -> None:
    """A board that writes down when each of incidents `first`… first appeared in a written frame."""
    app = board_app(db)
    seen: dict[int, float] = {}
    state = {"next": first}

    def post_display_hook() -> None:
        if not Path(out + ".ready").exists():
            Path(out + ".ready").write_text("ready")
        model = app.board_screen.board.model
        while state["next"] < first + count and model.get(state["next"]) is not None:
            seen[state["next"]] = time.time()
            state["next"] += 1
        if state["next"] >= first + count:
            app.call_later(app.exit)

    app.post_display_hook = post_display_hook
    app.run()
    Path(out).write_text(json.dumps({str(k): v for k, v in seen.items()}))


def run_change_child(db: str, first: int, count: int, size=(120, 40)) -> list[float]:
    """Spawn the board on a pty, declare `count` incidents from this process, return the latencies (ms)."""
    out = tempfile.mktemp(prefix="bench-change-", suffix=".json")
    master, slave = pty.openpty()
    import fcntl

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", ONCALL_TUI_USER="bench")
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--change-child", db, out, str(first), str(count)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    output = bytearray()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    output.extend(os.read(master, 65536))
                except OSError:
                    return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    committed: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 60
        while not Path(out + ".ready").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the board did not start:\n{output[-2000:].decode(errors='replace')}")
            time.sleep(0.05)
        time.sleep(1.5)
        from oncall_tui.desk import Desk
        from oncall_tui.policy import load_policy

        other = Desk.open(db, policy=load_policy(use_user_config=False), actor="other-desk")
        rng = random.Random(5)
        try:
            for _ in range(count):
                time.sleep(rng.uniform(0.3, 1.3))  # at any moment of the board's tick
                started = time.time()
                inc = other.declare("Change from another desk", severity="P1")
                committed[inc.number] = started
        finally:
            other.close()
        proc.wait(timeout=60)
    finally:
        stop.set()
        reader.join(timeout=2)
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        Path(out + ".ready").unlink(missing_ok=True)
    if not Path(out).exists():
        raise RuntimeError(f"the board wrote no figures:\n{output[-3000:].decode(errors='replace')}")
    seen = {int(k): v for k, v in json.loads(Path(out).read_text()).items()}
    Path(out).unlink()
    return [(seen[n] - committed[n]) * 1000 for n in committed if n in seen]


def action_ms(db, count: int) -> list[float]:
    from oncall_tui.desk import Desk
    from oncall_tui.policy import load_policy

    desk = Desk.open(db, policy=load_policy(use_user_config=False), actor="bench")
    try:
        number = desk.incidents()[0].number
        out = []
        for i in range(count):
            started = time.perf_counter()
            desk.note(number, f"bench note {i}")
            out.append((time.perf_counter() - started) * 1000)
        return out
    finally:
        desk.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="first-paint runs per app")
    parser.add_argument("--actions", type=int, default=50, help="notes timed per backend")
    parser.add_argument("--changes", type=int, default=20, help="another desk's commits timed per backend")
    parser.add_argument("--change-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.change_child:
        db, out, first, count = args.change_child
        change_child(db, out, int(first), int(count))
        return 0

    import compileall

    import oncall_tui

    compileall.compile_dir(Path(oncall_tui.__file__).parent, quiet=1)
    from support.postgres import start_server

    from oncall_tui.migrate import migrate
    from oncall_tui.store import open_record

    work = Path(tempfile.mkdtemp(prefix="oncall-bench-pg-"))
    server = start_server()
    try:
        file_db = work / "desk.db"
        began = time.perf_counter()
        bench_board.build_desk(file_db, args.incidents)
        url = server.url(server.create_database())
        source, target = open_record(file_db), open_record(url)
        try:
            migrate(source, target)
        finally:
            source.close()
            target.close()
        print(
            f"desk: {args.incidents} open incidents, as a file and on PostgreSQL ({time.perf_counter() - began:.1f} s)"
        )

        size = (120, 40)
        paint: dict[str, list[float]] = {"bare": [], "file": [], "postgresql": []}
        paint_cpu: dict[str, list[float]] = {k: [] for k in paint}
        for _ in range(args.runs):  # interleaved, so all three see the same machine load
            for name, app, db in (("bare", "bare", file_db), ("file", "board", file_db), ("postgresql", "board", url)):
                figures = bench_board.run_child("first-paint", app, db, size)
                paint[name].append(figures["first_paint_s"] * 1000)
                paint_cpu[name].append(figures["first_paint_cpu_s"] * 1000)
        actions = {"file": action_ms(file_db, args.actions), "postgresql": action_ms(url, args.actions)}
        first = args.incidents + 1
        changes = {
            "file": run_change_child(str(file_db), first, args.changes),
            "postgresql": run_change_child(url, first, args.changes),
        }
    finally:
        server.destroy()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    fp = {k: med(v) for k, v in paint.items()}
    cpu = {k: med(v) for k, v in paint_cpu.items()}
    print(f"\n{'measure':<44}{'bare':>9}{'file':>9}{'pg':>9}   budget")
    pg_ratio = fp["postgresql"] / fp["bare"]
    print(
        f"{'first paint (ms, median)':<44}{fp['bare']:>9.0f}{fp['file']:>9.0f}{fp['postgresql']:>9.0f}   "
        f"pg {pg_ratio:.2f}x bare, file {fp['file'] / fp['bare']:.2f}x (budget {BUDGETS['first_paint_ratio']}x): "
        f"{'ok' if pg_ratio <= BUDGETS['first_paint_ratio'] else 'OVER'}"
    )
    print(
        f"{'first paint CPU (ms, median)':<44}{cpu['bare']:>9.0f}{cpu['file']:>9.0f}{cpu['postgresql']:>9.0f}   "
        f"pg {cpu['postgresql'] / cpu['bare']:.2f}x bare, file {cpu['file'] / cpu['bare']:.2f}x"
    )
    a = {k: med(v) for k, v in actions.items()}
    print(f"{'an action, note (ms, median)':<44}{'':>9}{a['file']:>9.2f}{a['postgresql']:>9.2f}")
    c = {k: med(v) for k, v in changes.items()}
    print(
        f"{'other desk commit → board painted (ms, med)':<44}{'':>9}{c['file']:>9.0f}{c['postgresql']:>9.0f}   "
        f"pg max {max(changes['postgresql']):.0f} ms (budget {BUDGETS['change_ms']:.0f} ms): "
        f"{'ok' if c['postgresql'] < BUDGETS['change_ms'] else 'OVER'}"
    )
    print("first paint runs (ms): " + "; ".join(f"{n} " + " ".join(f"{v:.0f}" for v in vs) for n, vs in paint.items()))
    print(
        f"seen {len(changes['postgresql'])}/{args.changes} changes on PostgreSQL, {len(changes['file'])}/{args.changes}"
        " on the file (which the board's 1 s tick polls)"
    )
    return 0 if pg_ratio <= BUDGETS["first_paint_ratio"] and c["postgresql"] < BUDGETS["change_ms"] else 1


if __name__ == "__main__":
    sys.exit(main())
