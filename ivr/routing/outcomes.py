"""What happened to each queued call (answered, abandoned, wait and handling time), in Redis.

Recent handling times feed the wait estimate callers hear; agent heartbeats (the console polls)
say how many agents are working, so the estimate divides by them.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import redis

from ivr import metrics

RECENT_HANDLING = 50  # handling times kept for the average
RECENT_OUTCOMES = 500
OUTCOME_TTL = 7 * 24 * 3600
ONLINE_WINDOW = 30.0  # an agent whose console polled within this many seconds is working


def outcome_key(call_sid: str) -> str:
    return f"ivr:{{call:{call_sid}}}:outcome"


class Outcomes:
    """Outcome records and the statistics the hold announcements use."""

    k_handling = "ivr:{stats}:handling"
    k_recent = "ivr:{stats}:recent"
    k_online = "ivr:{stats}:online"

    def __init__(self, redis_client: redis.Redis):
        self.r = redis_client

    def _record(self, call_sid: str, event: str, **fields: Any) -> None:
        fields = {k: v for k, v in fields.items() if v is not None}
        row = {"call_sid": call_sid, "event": event, "at": round(time.time(), 3), **fields}
        pipe = self.r.pipeline(transaction=False)
        key = outcome_key(call_sid)
        pipe.hset(key, mapping={"event": event, **{k: str(v) for k, v in fields.items()}})
        pipe.expire(key, OUTCOME_TTL)
        pipe.lpush(self.k_recent, json.dumps(row, ensure_ascii=False))
        pipe.ltrim(self.k_recent, 0, RECENT_OUTCOMES - 1)
        pipe.execute()

    def accepted(self, call_sid: str, agent: str, priority: str, wait_seconds: float,
                 since_call_start: float | None = None) -> None:
        """An agent took the caller (the bridge follows)."""
        metrics.WAIT_SECONDS.observe(wait_seconds)
        metrics.SECONDS_TO_AGENT.observe(
            since_call_start if since_call_start is not None else wait_seconds
        )
        self._record(call_sid, "accepted", agent=agent, priority=priority,
                     wait_seconds=round(wait_seconds, 1))

    def answered(self, call_sid: str, agent: str, priority: str) -> None:
        """The caller is being connected to the agent's endpoint."""
        metrics.ANSWERED.labels(priority).inc()
        self._record(call_sid, "answered", agent=agent, priority=priority)

    def abandoned(self, call_sid: str, wait_seconds: float, reason: str = "hangup") -> None:
        """The caller left before an agent could take them."""
        metrics.ABANDONED.inc()
        self._record(call_sid, "abandoned", reason=reason, wait_seconds=round(wait_seconds, 1))

    def handled(self, call_sid: str, agent: str, handling_seconds: float,
                disposition: str) -> None:
        """The agent finished; the handling time feeds the estimate."""
        metrics.HANDLING_SECONDS.observe(handling_seconds)
        pipe = self.r.pipeline(transaction=False)
        pipe.lpush(self.k_handling, f"{handling_seconds:.1f}")
        pipe.ltrim(self.k_handling, 0, RECENT_HANDLING - 1)
        pipe.execute()
        self._record(call_sid, "handled", agent=agent, disposition=disposition,
                     handling_seconds=round(handling_seconds, 1))

    def get(self, call_sid: str) -> dict[str, str]:
        return self.r.hgetall(outcome_key(call_sid))

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.k_recent, 0, limit - 1)]

    # -- the estimate --
    def average_handling(self, default: float) -> float:
        values = [float(x) for x in self.r.lrange(self.k_handling, 0, RECENT_HANDLING - 1)]
        return sum(values) / len(values) if values else default

    def heartbeat(self, agent_id: str, now: float | None = None) -> None:
        self.r.zadd(self.k_online, {agent_id: now if now is not None else time.time()})

    def online_agents(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        self.r.zremrangebyscore(self.k_online, "-inf", now - ONLINE_WINDOW)
        return int(self.r.zcard(self.k_online))

    def estimate_wait(self, position: int, default_handling: float,
                      now: float | None = None) -> int:
        """Whole minutes a caller at ``position`` will likely wait (at least 1)."""
        agents = max(1, self.online_agents(now))
        seconds = position * self.average_handling(default_handling) / agents
        return max(1, math.ceil(seconds / 60))
