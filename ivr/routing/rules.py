"""Queue ordering rules, pure: who an agent gets next. No Redis, Flask or Twilio here.

Ordering: class rank (scam > elder > normal), first come first served within a class, and slow
linear aging: every ``aging_seconds`` of waiting is worth one class step. With linear aging the
order between two waiting callers never changes over time, because

    rank_a + (now - t_a) / A  >  rank_b + (now - t_b) / A   <=>   t_a - rank_a*A  <  t_b - rank_b*A

so one static number per entry, ``order_score = enqueued_at - rank * aging_seconds`` (lower is
served first), gives the exact aged order. Redis keeps it as a sorted-set score; nothing needs
rescoring while callers wait, and accept-next stays O(log N).

Skills: an entry that needs a skill (a dialect) is offered only to agents with that skill for
``skill_wait_seconds`` after it was queued, then to anyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

PRIORITIES: tuple[str, ...] = ("scam", "elder", "normal")
CLASS_RANK: dict[str, int] = {"normal": 0, "elder": 1, "scam": 2}


@dataclass(frozen=True)
class QueuePolicy:
    """The two numbers the ordering depends on (from config/agents.yaml `queue`)."""

    skill_wait_seconds: float = 60.0
    aging_seconds: float = 600.0

    def policy(self) -> QueuePolicy:
        """A policy is its own source (config's QueueRules gives one the same way)."""
        return self


class Orderable(Protocol):
    call_sid: str
    priority: str
    skill: str | None
    enqueued_at: float


E = TypeVar("E", bound=Orderable)


def class_rank(priority: str) -> int:
    """Rank of a priority class; unknown classes are treated as normal (never an error)."""
    return CLASS_RANK.get(priority, 0)


def order_score(priority: str, enqueued_at: float, aging_seconds: float) -> float:
    """Static sort key (lower first) that encodes class, arrival time and linear aging."""
    return enqueued_at - class_rank(priority) * aging_seconds


def effective_priority(
    priority: str, enqueued_at: float, now: float, aging_seconds: float
) -> float:
    """Class rank plus aging at ``now`` (for display and to explain the order)."""
    return class_rank(priority) + max(0.0, now - enqueued_at) / aging_seconds


def skill_eligible(
    skill: str | None,
    enqueued_at: float,
    agent_skills: Iterable[str],
    now: float,
    skill_wait_seconds: float,
) -> bool:
    """May an agent with ``agent_skills`` take this entry at ``now``?"""
    if not skill or skill in set(agent_skills):
        return True
    return now - enqueued_at >= skill_wait_seconds


def ordered(entries: Iterable[E], policy: QueuePolicy) -> list[E]:
    """The general order (what position numbers are based on). Ties break on CallSid, as Redis."""
    return sorted(
        entries,
        key=lambda e: (order_score(e.priority, e.enqueued_at, policy.aging_seconds), e.call_sid),
    )


def pick_next(
    entries: Sequence[E], agent_skills: Iterable[str], now: float, policy: QueuePolicy
) -> E | None:
    """Reference choice of the next entry for an agent; the Lua accept script must agree."""
    skills = set(agent_skills)
    for entry in ordered(entries, policy):
        if skill_eligible(entry.skill, entry.enqueued_at, skills, now, policy.skill_wait_seconds):
            return entry
    return None
