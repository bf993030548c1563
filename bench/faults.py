"""Fault table: callers lost and served twice under each fault of issue 10.

Each drill runs the real app on a real HTTP server, a real redis-server (AOF on, as production
should), and the Twilio stand-in (ivr/sim), then lets agents accept through the console API.
``lost`` = callers never bridged to an agent; ``double-served`` = callers bridged (or accepted)
more than once. One line per fault:

    python bench/faults.py [--quick] [--only NAME ...]

Timings on a shared 2-core machine are noisy; the counts are what matters.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.sim import drills  # noqa: E402


def plan(quick: bool) -> list[tuple[str, object, tuple, dict]]:
    n = 20 if quick else 100
    rows: list[tuple[str, object, tuple, dict]] = [
        ("redis_kill9", drills.redis_kill9, (n,), {}),
        ("embedded_restart", drills.embedded_restart, (n // 2,), {}),
        ("down_wait", drills.redis_down_press0, (10,), {"via": "wait"}),
        ("down_reconciler", drills.redis_down_press0, (10,), {"via": "reconciler"}),
    ]
    rows += [(f"rest:{name}", drills.rest_fault, (name, 10), {}) for name in drills.REST_FAULTS]
    rows += [
        ("stale_queue_sid", drills.stale_queue_sid, (10,), {}),
        ("reconciler_timer", drills.reconciler_timer, (10,), {}),
        ("worker_kill", drills.worker_kill, (50,), {}),
        ("bridged_scam", drills.bridged_scam, (), {}),
        ("ghost", drills.ghost, (10,), {}),
        ("stray", drills.stray_id, (), {}),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer callers (20 instead of 100)")
    ap.add_argument("--only", nargs="*", help="drill names (see the first column)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    print(f"{'fault':44} {'callers':>7} {'lost':>5} {'double-served':>13} {'secs':>5}  notes")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ivr-faults-") as tmp:
        for name, fn, a, kw in plan(args.quick):
            if args.only and name not in args.only:
                continue
            folder = Path(tmp) / name.replace(":", "_").replace(" ", "_").replace(",", "")
            folder.mkdir()
            start = time.monotonic()
            try:
                r = fn(folder, *a, **kw)  # type: ignore[operator]
            except Exception as exc:  # a drill that breaks is a finding: show it
                r = drills.DrillResult(name, 0, -1, -1, notes=f"drill error: {exc!r}")
            secs = time.monotonic() - start
            failures += r.lost != 0 or r.double_served != 0
            print(f"{r.fault:44} {r.callers:7d} {r.lost:5d} {r.double_served:13d} "
                  f"{secs:5.1f}  {r.notes}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
