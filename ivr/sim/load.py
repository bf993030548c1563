"""Load mode: many concurrent scripted calls against one app, with the figures that matter.

All calls share one simulated account (one REST stand-in, one set of queues), as they would
share one Twilio account. Reported: completed calls (expectations met, no errors), failures,
the distribution of seconds-to-human (virtual clock) and webhook latency (real round trips).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ivr.sim.scenario import Report, Scenario, run_scenario
from ivr.sim.simulator import Simulator


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100.0 * len(ordered)) - 1))
    return ordered[k]


@dataclass
class LoadReport:
    calls: int
    concurrency: int
    wall_seconds: float
    reports: list[Report] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(1 for r in self.reports if r.passed)

    @property
    def failed(self) -> list[Report]:
        return [r for r in self.reports if not r.passed]

    def summary(self) -> dict[str, Any]:
        human = [r.result.seconds_to_human for r in self.reports
                 if r.result.seconds_to_human is not None]
        lat = [x * 1000 for r in self.reports for x in r.result.latencies]
        reasons: dict[str, int] = {}
        for r in self.failed:
            key = r.failures[0].split(":")[0][:60]
            reasons[key] = reasons.get(key, 0) + 1
        return {
            "calls": self.calls, "concurrency": self.concurrency,
            "completed": self.completed, "failed": len(self.failed),
            "errors": sum(len(r.result.errors) for r in self.reports) + len(self.crashes),
            "failure_reasons": reasons, "crashes": self.crashes[:5],
            "wall_seconds": round(self.wall_seconds, 2),
            "calls_per_second": round(self.calls / self.wall_seconds, 2)
            if self.wall_seconds else None,
            "seconds_to_human": _dist(human, 2),
            "reached_human": len(human),
            "webhook_latency_ms": _dist(lat, 1),
            "webhooks": len(lat),
        }


def _dist(values: list[float], digits: int) -> dict[str, float | None]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {"min": r(min(values)) if values else None, "p50": r(percentile(values, 50)),
            "p90": r(percentile(values, 90)), "p99": r(percentile(values, 99)),
            "max": r(max(values)) if values else None}


def caller_number(base: str, index: int, unique: bool) -> str:
    """Distinct caller IDs per call (the app may rate-limit or watch repeat callers)."""
    if not unique:
        return base
    digits = str(index).zfill(4)
    return base[: len(base) - len(digits)] + digits if len(base) > len(digits) else base


def run_load(sim: Simulator, scn: Scenario, calls: int, concurrency: int,
             unique_callers: bool = True, progress=None) -> LoadReport:
    """Run ``calls`` scripted calls, at most ``concurrency`` at a time."""
    start = time.monotonic()
    report = LoadReport(calls, concurrency, 0.0)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
        futures = [pool.submit(run_scenario, sim, scn, caller_number(scn.caller, i,
                                                                     unique_callers))
                   for i in range(calls)]
        for fut in as_completed(futures):
            try:
                report.reports.append(fut.result())
            except Exception as exc:  # noqa: BLE001 - one broken call must not stop the run
                report.crashes.append(repr(exc))
            if progress is not None:
                progress(len(report.reports) + len(report.crashes), calls)
    report.wall_seconds = time.monotonic() - start
    return report
