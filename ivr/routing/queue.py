"""The human queue in Redis: Twilio holds the audio, this holds the order.

Each atomic operation is one Lua script (``ivr/routing/lua/``), registered once per CallQueue.
All keys share the hash tag ``{queue}`` so every script touches a single Redis Cluster slot.

Keys (prefix ``ivr:{queue}:``):
  order            ZSET  every waiting caller, score = rules.order_score (general order, positions)
  open             ZSET  waiting callers any agent may take (no skill, or skill wait ran out)
  skill:<dialect>  ZSET  waiting callers only agents with that skill may take (for now)
  pending          ZSET  the skill-restricted ones by enqueued_at, to move them to ``open`` in time
  e:<CallSid>      HASH  the entry: priority, rank, skill, enqueued_at, score, state, callback...
                         and one ``c:<key>`` field (JSON) per context key
  agents           HASH  agent id -> CallSid they hold;  assigned ZSET CallSid -> accepted_at
  counts           HASH  waiting callers by priority class

Accept-next reads only the head of ``open`` and of the agent's skill sets, so it costs
O(skills x log N) whatever the queue length (see bench/queue_bench.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import redis

from ivr.routing.rules import PRIORITIES, QueuePolicy, class_rank, order_score

LUA_DIR = Path(__file__).with_name("lua")
DEFAULT_PREFIX = "ivr:{queue}:"
CTX = "c:"
SCRIPTS = ("enqueue", "accept", "remove", "raise", "callback", "requeue", "finish", "entries",
           "annotate")


class PolicySource(Protocol):
    """A QueuePolicy, or config's QueueRules: anything that says which policy applies now."""

    def policy(self) -> QueuePolicy: ...


@dataclass
class QueueEntry:
    """One waiting (or just accepted) caller. ``context`` is what the agent sees."""

    call_sid: str
    priority: str
    skill: str | None
    enqueued_at: float
    context: dict[str, Any] = field(default_factory=dict)
    state: str = "waiting"
    callback: bool = False
    agent: str | None = None
    accepted_at: float | None = None
    status: str | None = None
    callback_to: str | None = field(default=None, repr=False)  # never shown to agents
    callback_from: str | None = field(default=None, repr=False)
    polled_at: float | None = None  # last wait poll (the caller was in Twilio's queue then)

    def waited(self, now: float | None = None) -> float:
        """Seconds waited until acceptance (or until ``now`` while still waiting)."""
        end = self.accepted_at if self.accepted_at is not None else (now or time.time())
        return max(0.0, end - self.enqueued_at)

    def public(self, now: float | None = None) -> dict[str, Any]:
        """JSON for the console and API: no raw phone numbers."""
        return {
            "call_sid": self.call_sid,
            "priority": self.priority,
            "skill": self.skill,
            "enqueued_at": self.enqueued_at,
            "waited_seconds": round(self.waited(now), 1),
            "state": self.state,
            "callback": self.callback,
            "agent": self.agent,
            "status": self.status,
            "context": self.context,
        }

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> QueueEntry:
        ctx = {k[len(CTX):]: _loads(v) for k, v in data.items() if k.startswith(CTX)}
        return cls(
            call_sid=data["sid"],
            priority=data["priority"],
            skill=data.get("skill") or None,
            enqueued_at=float(data["enqueued_at"]),
            context=ctx,
            state=data.get("state", "waiting"),
            callback=data.get("callback") == "1",
            agent=data.get("agent") or None,
            accepted_at=float(data["accepted_at"]) if data.get("accepted_at") else None,
            status=data.get("status") or None,
            callback_to=data.get("cb_to") or None,
            callback_from=data.get("cb_from") or None,
            polled_at=_float(data.get("polled_at")),
        )


class AgentBusy(Exception):
    """The agent already holds a caller; they must finish before accepting another."""

    def __init__(self, call_sid: str):
        super().__init__(f"agent already holds {call_sid}")
        self.call_sid = call_sid


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _loads(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _ctx_args(context: dict[str, Any] | None) -> list[str]:
    args: list[str] = []
    for key, value in (context or {}).items():
        args += [CTX + str(key), json.dumps(value, ensure_ascii=False)]
    return args


@cache
def _script_source(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


def queue_retention(service: Any) -> tuple[int, int]:
    """(entry seconds, call-back seconds) from config/ivr.yaml ``retention`` (0 when absent)."""
    r = getattr(service, "retention", None)
    return (int(getattr(r, "queue_entry_seconds", 0) or 0),
            int(getattr(r, "callback_number_seconds", 0) or 0))


class CallQueue:
    """Priority + skill queue of callers waiting for a human. Safe to share between threads."""

    def __init__(
        self,
        redis_client: redis.Redis,
        rules: PolicySource | Callable[[], PolicySource] | None = None,
        prefix: str = DEFAULT_PREFIX,
        retention: Callable[[], tuple[int, int]] = lambda: (0, 0),
    ):
        """``retention``: () -> (entry seconds, call-back seconds); 0 = kept until removed."""
        self.r = redis_client
        self.retention = retention
        self._rules = rules if rules is not None else QueuePolicy()
        self.p = prefix
        self.k_order, self.k_open = prefix + "order", prefix + "open"
        self.k_pending, self.k_counts = prefix + "pending", prefix + "counts"
        self.k_agents, self.k_assigned = prefix + "agents", prefix + "assigned"
        self._s = {name: redis_client.register_script(_script_source(name)) for name in SCRIPTS}

    # -- rules (callable so a config reload takes effect without rebuilding the queue) --
    def policy(self) -> QueuePolicy:
        rules = self._rules() if callable(self._rules) else self._rules
        return rules.policy()

    def entry_key(self, call_sid: str) -> str:
        return f"{self.p}e:{call_sid}"

    def skill_key(self, skill: str) -> str:
        return f"{self.p}skill:{skill}"

    # -- operations --
    def enqueue(self, entry: QueueEntry) -> bool:
        """Add a caller; False when that CallSid is already queued (or being served)."""
        policy = self.policy()
        score = order_score(entry.priority, entry.enqueued_at, policy.aging_seconds)
        skill = entry.skill or ""
        keys = [self.k_order, self.k_open, self.k_pending, self.k_counts,
                self.entry_key(entry.call_sid), self.skill_key(skill) if skill else self.k_open]
        args = [entry.call_sid, repr(score), entry.priority, class_rank(entry.priority), skill,
                repr(entry.enqueued_at), int(self.retention()[0]), *_ctx_args(entry.context)]
        return bool(self._s["enqueue"](keys=keys, args=args))

    def position(self, call_sid: str) -> int | None:
        """1-based place in the general order; None when not waiting."""
        rank = self.r.zrank(self.k_order, call_sid)
        return None if rank is None else rank + 1

    def raise_priority(
        self, call_sid: str, priority: str, context_update: dict[str, Any] | None = None
    ) -> bool:
        """Move a caller up to ``priority`` in place (never down); merge the context update."""
        raw = self.r.hget(self.entry_key(call_sid), "enqueued_at")
        if raw is None:
            return False
        score = order_score(priority, float(raw), self.policy().aging_seconds)
        keys = [self.k_order, self.k_open, self.k_counts, self.entry_key(call_sid)]
        args = [self.p, call_sid, priority, class_rank(priority), repr(score),
                *_ctx_args(context_update)]
        return bool(self._s["raise"](keys=keys, args=args))

    def remove(self, call_sid: str, keep_callback: bool = False) -> tuple[str, QueueEntry | None]:
        """Take a waiting caller out. Returns (what happened, the removed entry).

        'removed' | 'absent' | 'kept' (call-back entry kept) | 'assigned' (an agent holds it).
        """
        out = self._s["remove"](
            keys=[self.k_order, self.k_open, self.k_pending, self.k_counts],
            args=[self.p, call_sid, "1" if keep_callback else "0"],
        )
        if out[0] == "removed":
            return "removed", QueueEntry.from_hash(_pairs(out[1:]))
        return out[0], None

    def accept_next(
        self, agent_id: str, skills: Iterable[str], now: float | None = None
    ) -> QueueEntry | None:
        """Atomically hand the next eligible caller to this agent (raises AgentBusy)."""
        now = time.time() if now is None else now
        skill_keys = [self.skill_key(s) for s in sorted(set(skills))]
        out = self._s["accept"](
            keys=[self.k_order, self.k_open, self.k_pending, self.k_counts, self.k_agents,
                  self.k_assigned, *skill_keys],
            args=[self.p, agent_id, repr(now), repr(self.policy().skill_wait_seconds)],
        )
        if out[0] == "busy":
            raise AgentBusy(out[1])
        if out[0] == "none":
            return None
        return QueueEntry.from_hash(_pairs(out[1:]))

    def mark_callback(self, call_sid: str, to: str, from_: str) -> bool:
        """The caller chose a call-back: they keep their place and may hang up. The entry (with
        the number) expires after the call-back retention."""
        return bool(self._s["callback"](keys=[self.entry_key(call_sid)],
                                        args=[to, from_, int(self.retention()[1])]))

    def expire_old(self, now: float | None = None) -> list[QueueEntry]:
        """Retention: drop waiting entries older than the entry retention and call-backs older
        than the call-back retention (counts and sets kept right; the hash TTL is the backstop
        for a queue nobody sweeps). Returns what was removed."""
        now = time.time() if now is None else now
        entry_s, callback_s = self.retention()
        removed: list[QueueEntry] = []
        for entry in self.entries():
            limit = callback_s if entry.callback else entry_s
            if entry.state != "waiting" or not limit or now - entry.enqueued_at <= limit:
                continue
            what, gone = self.remove(entry.call_sid)
            if gone is not None:
                removed.append(gone)
        return removed

    def requeue(self, call_sid: str) -> bool:
        """Return an assigned caller to their old place (same enqueued_at, same score)."""
        return bool(self._s["requeue"](
            keys=[self.k_order, self.k_open, self.k_pending, self.k_counts, self.k_agents,
                  self.k_assigned, self.entry_key(call_sid)],
            args=[self.p, call_sid],
        ))

    def finish(self, agent_id: str) -> QueueEntry | None:
        """Free the agent; returns (and deletes) the entry they held."""
        out = self._s["finish"](keys=[self.k_agents, self.k_assigned], args=[self.p, agent_id])
        return None if out[0] == "none" else QueueEntry.from_hash(_pairs(out[1:]))

    def annotate(self, call_sid: str, **fields: str) -> bool:
        """Set plain fields (e.g. status) on an entry, only while it exists."""
        args = [x for kv in fields.items() for x in kv]
        return bool(self._s["annotate"](keys=[self.entry_key(call_sid)], args=args))

    def on_call_completed(self, call_sid: str, now: float | None = None) -> str:
        """Status callback hook: a caller who hung up while waiting leaves and is counted
        abandoned; a call-back entry keeps its place; an assigned one is marked ended."""
        from ivr.routing.outcomes import Outcomes  # outcomes imports metrics; keep queue light

        what, removed = self.remove(call_sid, keep_callback=True)
        if removed is not None:
            Outcomes(self.r).abandoned(call_sid, removed.waited(now), reason="hangup")
        elif what == "assigned":
            self.annotate(call_sid, status="ended", ended_at=repr(now or time.time()))
        return what

    # -- reads --
    def get(self, call_sid: str) -> QueueEntry | None:
        data = self.r.hgetall(self.entry_key(call_sid))
        return QueueEntry.from_hash(data) if data else None

    def held_by(self, agent_id: str) -> QueueEntry | None:
        sid = self.r.hget(self.k_agents, agent_id)
        return self.get(sid) if sid else None

    def entries(self, limit: int | None = None) -> list[QueueEntry]:
        """Waiting callers in the general order (a consistent snapshot)."""
        count = -1 if limit is None else limit
        rows = self._s["entries"](keys=[self.k_order], args=[self.p, count])
        return [QueueEntry.from_hash(_pairs(row)) for row in rows if row]

    def sizes(self) -> dict[str, int]:
        """Waiting callers by class (every class present, zero when none)."""
        raw = self.r.hgetall(self.k_counts)
        return {p: max(0, int(raw.get(p, 0))) for p in PRIORITIES}

    def __len__(self) -> int:
        return int(self.r.zcard(self.k_order))
