"""One box's media counters when several media processes share a port (``SO_REUSEPORT``).

A `/healthz` request reaches whichever process the kernel picks, so each process publishes its
counters to Redis every second and ``/healthz?box=1`` answers the sum of the fresh ones. Pure
combination here; the publishing loop lives in ``ivr.media.process``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

STATS_KEY = "ivr:{media}:stats"  # hash: "<host>:<pid>" -> JSON counters with "ts"
FRESH_SECONDS = 5.0  # a process silent for longer is gone (killed, stopped)
KEY_TTL_SECONDS = 30


def process_id() -> str:
    """This process's field in the hash."""
    return f"{socket.gethostname()}:{os.getpid()}"


def snapshot(stats: Mapping[str, Any], now: float) -> str:
    """One process's counters as stored."""
    return json.dumps({**stats, "ts": now})


def combine(raw: Mapping[bytes | str, bytes | str], now: float,
            fresh_seconds: float = FRESH_SECONDS) -> dict[str, Any]:
    """Sum the numeric counters (and per-reason tallies) of the processes heard from lately."""
    total: dict[str, Any] = {"processes": 0}
    for value in raw.values():
        try:
            item = json.loads(value)
        except (TypeError, ValueError):
            continue
        if not isinstance(item, dict) or now - float(item.get("ts", 0)) > fresh_seconds:
            continue
        total["processes"] += 1
        for name, v in item.items():
            if name == "ts":
                continue
            if isinstance(v, bool) or not isinstance(v, int | float | dict):
                total.setdefault(name, v)
            elif isinstance(v, dict):
                tally = total.setdefault(name, {})
                for reason, n in v.items():
                    tally[reason] = tally.get(reason, 0) + n
            else:
                total[name] = total.get(name, 0) + v
    return total
