"""Reconciler: Twilio's queue (who is really holding) against Redis (who agents can reach).

Run at start and on a timer by every worker; a Redis lease lets one of them do the work per
interval. Members of Twilio's queue missing in Redis are added back (a caller queued by the
failsafe during an outage, a Redis that lost data); waiting entries whose wait poll stopped for
``ghost_after_intervals`` hold intervals and who are not in Twilio's queue are closed as
abandoned (their hang-up callback never arrived).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from ivr import metrics
from ivr.routing import dispatch
from ivr.services import Services

log = logging.getLogger(__name__)

LEASE_KEY = "ivr:{queue}:reconcile:lease"
REPEAT_WARNING = 20  # passes between two warnings while Twilio stays unreachable


class Requeuer(Protocol):
    """What the reconciler needs of the call flow: put a still-live caller back in the queue."""

    def ensure_queued(self, call_sid: str, from_number: str = "") -> bool: ...


@dataclass
class ReconcileReport:
    """What one pass found and did."""

    twilio_members: int = 0
    redis_waiting: int = 0
    added: list[str] = field(default_factory=list)
    ghosts: list[str] = field(default_factory=list)

    @property
    def gap(self) -> int:
        return self.twilio_members - self.redis_waiting


class Reconciler:
    """One per process; ``start()`` runs it in a daemon thread."""

    def __init__(self, svc: Services, flow: Requeuer | None, interval: float | None = None):
        self.svc = svc
        self.flow = flow
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token = secrets.token_hex(8)
        self._failures = 0  # passes in a row where Twilio did not answer

    @property
    def interval(self) -> float:
        return self._interval or self.svc.config.current.agents.queue.reconcile_interval_seconds

    def run_once(self, now: float | None = None, lease: bool = True) -> ReconcileReport | None:
        """One pass; None when another worker holds the lease or Twilio did not answer."""
        if lease and not self.svc.redis.set(LEASE_KEY, self._token, nx=True,
                                            px=max(1, int(self.interval * 900))):
            metrics.RECONCILE_RUNS.labels("leased_elsewhere").inc()
            return None
        self.apply_retention(time.time() if now is None else now)
        try:
            members = self._members()
        except Exception as exc:  # never close entries on a guess
            metrics.RECONCILE_RUNS.labels("rest_error").inc()
            self._failures += 1
            # The first failure and then one line per REPEAT_WARNING passes: an outage stays
            # visible without a line every interval (a dev box has no stand-in most of the time).
            level = logging.WARNING if self._failures % REPEAT_WARNING == 1 else logging.DEBUG
            log.log(level, "reconcile: Twilio queue members unavailable (%s); nothing changed"
                    " (%d pass(es) in a row)", exc, self._failures)
            return None
        if self._failures:
            log.info("reconcile: Twilio answers again after %d failed pass(es)", self._failures)
            self._failures = 0
        report = self._apply(members, time.time() if now is None else now)
        metrics.RECONCILE_RUNS.labels("ok").inc()
        metrics.QUEUE_GAP.set(report.gap)
        if report.added or report.ghosts:
            log.warning("reconcile: %d added from Twilio's queue, %d ghosts closed (gap %d)",
                        len(report.added), len(report.ghosts), report.gap)
        return report

    def apply_retention(self, now: float) -> list[str]:
        """Queue entries and call-back numbers past their retention (config ``retention``) are
        removed, whatever Twilio answers; counted as abandoned."""
        try:
            removed = self.svc.queue.expire_old(now)
        except Exception:
            log.warning("retention sweep of the queue failed", exc_info=True)
            return []
        for entry in removed:
            self.svc.outcomes.abandoned(
                entry.call_sid, entry.waited(now),
                reason="callback_expired" if entry.callback else "retention")
        if removed:
            log.warning("retention: %d queue entries past their retention removed", len(removed))
        return [e.call_sid for e in removed]

    def _members(self) -> list[str]:
        qsid = dispatch.twilio_queue_sid(self.svc)
        if qsid is None:
            return []
        try:
            return self.svc.calls.queue_members(qsid)
        except Exception:
            qsid = dispatch.twilio_queue_sid(self.svc, refresh=True)  # a stale queue SID?
            return self.svc.calls.queue_members(qsid) if qsid else []

    def _apply(self, members: list[str], now: float) -> ReconcileReport:
        q = self.svc.queue
        rules = self.svc.config.current.agents.queue
        report = ReconcileReport(twilio_members=len(members))
        present = set(members)
        for sid in members:
            if (q.get(sid) is None and self.flow is not None
                    and self.flow.ensure_queued(sid, self._caller_number(sid))):
                report.added.append(sid)
                metrics.RECONCILED.inc()
        cutoff = rules.ghost_after_intervals * rules.hold_announcement_interval_seconds
        waiting = [e for e in q.entries() if not e.callback]
        report.redis_waiting = len(waiting)
        for entry in waiting:
            last = max(entry.enqueued_at, entry.polled_at or 0.0)
            if entry.call_sid in present or now - last <= cutoff:
                continue
            what, removed = q.remove(entry.call_sid)
            if removed is not None:
                self.svc.outcomes.abandoned(entry.call_sid, removed.waited(now),
                                                     reason="ghost")
                report.ghosts.append(entry.call_sid)
                report.redis_waiting -= 1
                metrics.GHOSTS_REMOVED.inc()
        return report

    def _caller_number(self, sid: str) -> str:
        """The caller's number, for the rebuilt entry (priority, dialect); '' if unknown."""
        try:
            return self.svc.calls.caller_number(sid)
        except Exception:
            return ""

    # ------------------------------------------------------------------ background
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ivr-reconcile")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # Redis down: try again next interval
                log.warning("reconcile pass failed", exc_info=True)
            self._stop.wait(self.interval)
