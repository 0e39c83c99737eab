"""Issue 19's table: the desk at 1k open, 10k open, and 1k open on top of 100k closed incidents,
each figure beside a bare Textual app measured in the same run (real pty, 120x40).

    .venv/bin/python tests/benchmarks/bench_scale.py [--sizes 1k,10k,history] [--runs 5] [--keep DIR]

Rows: first frame (ms, and x bare; and its CPU time, which a busy machine inflates less); key →
painted frame (median / p95, x bare); a clock tick with its repaint (median / p95, the board
maximised on a frozen clock moved a second per tick, so deadlines run out and breaches are written
as on a live desk; beside Textual's own floor for as many changed lines), at the issue's 120x40 and
at 120x204, where 200 countdowns are on screen; idle CPU (% of a core, x bare) and RSS (MB, x bare) over `--idle`
seconds of the settled desk, 15 s after the first frame (and idle CPU from 3 s after it, the
startup's last work still in the window); and the CLI's reads (`list --json`, `verify`, `report`:
seconds and peak MB, beside the bare app's first frame and RSS). The desks are built with the
history generator (`oncall-tui demo --closed`) and the board benchmark's own desk builder for the
open incidents; `--keep DIR` keeps and reuses them.

Idle CPU, RSS and keys are measured twice. First start: a copy of the desk as this version first
opens it, nothing verified yet, so the startup check walks every chain (a million events on the
history desk) while the figures are taken. Second start: the desk after a start that checked it,
so the check walks only what was written since — the desk as it is every day after the first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

import bench_board as bb  # noqa: E402  (the pty driver, the instrumented apps, the desk builder)
from support.peak import run_measured  # noqa: E402  (a command's own peak memory)

SIZES = {"1k": (1000, 0), "10k": (10_000, 0), "history": (1000, 100_000)}
LABELS = {"1k": "1k open", "10k": "10k open", "history": "1k open + 100k closed"}
GOALS = {
    "first frame": "≤ 1.5x (≤ 2x at 10k)",
    "key → painted": "≤ 4 ms, p95 ≤ 33 ms",
    "  its CPU time": "(the issue's 'CPU to the painted frame')",
    "  then the detail": "(the frame after the cursor's)",
    "tick incl. repaint": "≤ 5 ms",
    "  at 120x204": "(200 countdowns on screen)",
    "idle CPU": "≤ 1 %",
    "  3 s after first frame": "(the startup's last work in it; the row above: settled, 15 s after)",
    "RSS settled": "< 60 MB",
    "first start: full walk": "(once per desk; resumed if stopped)",
    "  key → painted": "(while the walk runs)",
    "list --json": "streaming, < 100 MB",
    "verify": "streaming, < 100 MB",
    "report": "< 1 s at 100k",
}


def build(path: Path, open_count: int, closed: int) -> None:
    if closed:
        from oncall_tui.desk import Desk
        from oncall_tui.history import generate_history
        from oncall_tui.policy import load_policy

        policy = load_policy(use_user_config=False)
        desk = Desk.open(path, policy=policy)
        try:
            generate_history(desk.store, policy, closed, now=datetime.now(UTC) - timedelta(days=1))
        finally:
            desk.close()
    bb.build_desk(path, open_count)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cli(db: Path, *command: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `oncall-tui` command on `db`."""
    status, _, err, took, peak = run_measured(
        [sys.executable, "-m", "oncall_tui.cli", "--db", str(db), *command],
        env={**os.environ, "ONCALL_TUI_USER": "bench"},
        keep_output=False,
    )
    if status not in (0, 1):  # verify exits 1 for a broken chain, which is still a figure
        raise RuntimeError(f"{' '.join(command)} failed: {err.decode()}")
    return took, peak


def unverified_copy(db: Path) -> Path:
    """The desk as this version first opens it: a copy with no startup check remembered. (Direct SQL
    on a benchmark's own copy: the record's door has no way to forget a verification, rightly.)"""
    import sqlite3

    copy = db.with_name(db.stem + "-first-start.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    source, target = sqlite3.connect(db), sqlite3.connect(copy)
    with target:
        source.backup(target)
        target.execute("DELETE FROM verified_heads")
        target.execute("DELETE FROM desk_meta WHERE key IN ('verified_seq', 'verified_walk')")
    source.close()
    target.close()
    return copy


def checked(db: Path) -> float:
    """Run the startup check on `db` to its end, as a previous start of the desk would; its CPU seconds."""
    from oncall_tui import startup_check
    from oncall_tui.store import Store

    store = Store.open(db)
    try:
        started = time.process_time()
        found = startup_check.check_since_last(store, polite=False)  # no desk here to leave frames to
        assert found is not None and found.problem is None, found
        return time.process_time() - started
    finally:
        store.close()


def measure(db: Path, runs: int, keys: int, idle: float) -> dict:
    size = (120, 40)
    paint: dict[str, list[float]] = {"bare": [], "board": []}
    paint_cpu: dict[str, list[float]] = {"bare": [], "board": []}
    for _ in range(runs):  # interleaved: both see the same machine load
        for name in paint:
            figures = bb.run_child("first-paint", name, db, size)
            paint[name].append(figures["first_paint_s"] * 1000)
            paint_cpu[name].append(figures["first_paint_cpu_s"] * 1000)
    walk_cpu = checked(unverified_copy(db))  # the full walk alone, unsliced: what the first start spreads out
    first = {
        "keys": bb.run_child("keys", "board", unverified_copy(db), size, keys=keys)["key_ms"],
        "idle": bb.run_child("idle", "board", unverified_copy(db), size, seconds=idle),
    }
    checked(db)  # the previous start: what follows is a second start
    key_figures = {name: bb.run_child("keys", name, db, size, keys=keys) for name in ("bare", "board")}
    key_runs = {name: r["key_ms"] for name, r in key_figures.items()}
    ticks, floor = {}, {}
    for at in (size, (120, 204)):
        ticks[at] = bb.run_child("tick", "board", db, at, seconds=8)["tick_ms"]
        floor[at] = bb.run_child("tick", "floor", db, at, seconds=8)["tick_ms"]
    checked(db)
    idles = {name: bb.run_child("idle", name, db, size, seconds=idle) for name in ("bare", "board")}
    return {
        "paint": paint,
        "paint_cpu": paint_cpu,
        "keys": key_runs,
        "key_cpu": {name: r["key_cpu_ms"] for name, r in key_figures.items()},
        "key_detail": key_figures["board"]["key_detail_ms"],
        "ticks": ticks[size],
        "floor": floor[size],
        "ticks_tall": ticks[(120, 204)],
        "floor_tall": floor[(120, 204)],
        "idle": {n: r["idle_cpu_pct"] for n, r in idles.items()},
        "idle_early": {n: r["idle_early_cpu_pct"] for n, r in idles.items()},
        "rss": {n: r["rss_mb"] for n, r in idles.items()},
        "first_start": {
            "keys": first["keys"],
            "idle": first["idle"]["idle_early_cpu_pct"],
            "rss": first["idle"]["rss_mb"],
            "walk_cpu_s": walk_cpu,
        },
        "list": cli(db, "list", "--json", *(["--all"] if "history" in db.name else [])),
        "verify": cli(db, "verify"),
        "report": cli(db, "report"),
    }


def table(results: dict[str, dict]) -> list[str]:
    names = list(results)
    out = [f"{'measure':<24}" + "".join(f"{LABELS[n]:>30}" for n in names) + "   goal"]

    def row(label: str, cell) -> None:
        out.append(f"{label:<24}" + "".join(f"{cell(results[n]):>30}" for n in names) + f"   {GOALS.get(label, '')}")

    def paint(r: dict, figure: str = "paint") -> str:
        board, bare = median(r[figure]["board"]), median(r[figure]["bare"])
        return f"{board:.0f} ms ({board / bare:.2f}x bare)"

    def keys(r: dict) -> str:
        k, bare = r["keys"]["board"], r["keys"]["bare"]
        return f"{median(k):.1f} / {p95(k):.1f} ms ({median(k) / median(bare):.1f}x)"

    def key_cpu(r: dict) -> str:
        k, bare = r["key_cpu"]["board"], r["key_cpu"]["bare"]
        return f"{median(k):.1f} / {p95(k):.1f} ms ({median(k) / median(bare):.1f}x)"

    def key_detail(r: dict) -> str:
        k, bare = r["key_detail"], r["keys"]["bare"]
        return f"{median(k):.1f} / {p95(k):.1f} ms ({median(k) / median(bare):.1f}x)"

    def tick(r: dict, tall: str = "") -> str:
        t, f = r["ticks" + tall], r["floor" + tall]
        return f"{median(t):.1f} / {p95(t):.1f} (floor {median(f):.1f} / {p95(f):.1f})"

    def idle(r: dict, window: str = "idle") -> str:
        return f"{r[window]['board']:.2f} % ({r[window]['board'] / max(r[window]['bare'], 0.01):.1f}x)"

    def rss(r: dict) -> str:
        return f"{r['rss']['board']:.0f} MB ({r['rss']['board'] / r['rss']['bare']:.2f}x)"

    def first_keys(r: dict) -> str:
        k, bare = r["first_start"]["keys"], r["keys"]["bare"]
        return f"{median(k):.1f} / {p95(k):.1f} ms ({median(k) / median(bare):.1f}x)"

    def first_idle(r: dict) -> str:
        pct = r["first_start"]["idle"]
        return f"{pct:.2f} % ({pct / max(r['idle']['bare'], 0.01):.0f}x)"

    def first_rss(r: dict) -> str:
        return f"{r['first_start']['rss']:.0f} MB ({r['first_start']['rss'] / r['rss']['bare']:.2f}x)"

    def walk(r: dict) -> str:
        return f"{r['first_start']['walk_cpu_s']:.2f} s CPU"

    def command(name: str):
        def cell(r: dict) -> str:
            took, peak = r[name]
            return f"{took:.2f} s, {peak:.0f} MB ({peak / r['rss']['bare']:.1f}x)"

        return cell

    row("first frame", paint)
    row("  CPU to it", lambda r: paint(r, "paint_cpu"))
    row("key → painted", keys)
    row("  its CPU time", key_cpu)
    row("  then the detail", key_detail)
    row("tick incl. repaint", tick)
    row("  at 120x204", lambda r: tick(r, "_tall"))
    row("idle CPU", idle)
    row("  3 s after first frame", lambda r: idle(r, "idle_early"))
    row("RSS settled", rss)
    row("first start: full walk", walk)
    row("  key → painted", first_keys)
    row("  idle CPU", first_idle)
    row("  RSS", first_rss)
    row("list --json", command("list"))
    row("verify", command("verify"))
    row("report", command("report"))
    out.append(
        "bare Textual app, same run: "
        + "; ".join(
            f"{LABELS[n]}: first frame {median(results[n]['paint']['bare']):.0f} ms, key "
            f"{median(results[n]['keys']['bare']):.1f} ms, idle {results[n]['idle']['bare']:.2f} %, "
            f"RSS {results[n]['rss']['bare']:.0f} MB"
            for n in names
        )
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,10k,history", help="which desks: 1k, 10k, history")
    parser.add_argument("--runs", type=int, default=5, help="first-frame runs per app")
    parser.add_argument("--keys", type=int, default=60, help="down arrows per app")
    parser.add_argument("--idle", type=float, default=10, help="seconds of idle measurement")
    parser.add_argument("--keep", type=Path, help="keep the desks in this folder (and reuse them)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    import compileall

    import oncall_tui

    compileall.compile_dir(Path(oncall_tui.__file__).parent, quiet=1)
    work = args.keep or Path(tempfile.mkdtemp(prefix="oncall-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.sizes.split(","):
        open_count, closed = SIZES[name]
        db = work / f"{name}.db"
        if not db.exists():
            began = time.perf_counter()
            build(db, open_count, closed)
            print(f"{LABELS[name]}: built in {time.perf_counter() - began:.0f} s", flush=True)
        results[name] = measure(db, args.runs, args.keys, args.idle)
        print(f"{LABELS[name]}: measured", flush=True)
    print("\n".join(table(results)))
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
