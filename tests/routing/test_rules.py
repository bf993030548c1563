"""Pure ordering rules: class rank, FCFS, slow aging, skill fallback."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.routing.rules import (
    QueuePolicy,
    effective_priority,
    order_score,
    ordered,
    pick_next,
    skill_eligible,
)

POLICY = QueuePolicy(skill_wait_seconds=60, aging_seconds=600)


@dataclass
class E:
    call_sid: str
    priority: str
    skill: str | None
    enqueued_at: float


def sids(entries):
    return [e.call_sid for e in entries]


def test_class_rank_then_fcfs():
    entries = [
        E("n1", "normal", None, 100), E("e1", "elder", None, 110), E("s1", "scam", None, 120),
        E("n2", "normal", None, 101), E("e2", "elder", None, 105),
    ]
    assert sids(ordered(entries, POLICY)) == ["s1", "e2", "e1", "n1", "n2"]


def test_aging_lets_a_long_waiter_overtake_a_higher_class():
    old_normal = E("old", "normal", None, 0)
    # an elder caller who came 599 s later is still ahead; 601 s later, the old caller wins
    assert sids(ordered([old_normal, E("e", "elder", None, 599)], POLICY)) == ["e", "old"]
    assert sids(ordered([old_normal, E("e", "elder", None, 601)], POLICY)) == ["old", "e"]
    # scam is two steps: 1,200 s
    assert sids(ordered([old_normal, E("s", "scam", None, 1199)], POLICY))[0] == "s"
    assert sids(ordered([old_normal, E("s", "scam", None, 1201)], POLICY))[0] == "old"


def test_aging_order_does_not_depend_on_now():
    a, b = E("a", "normal", None, 0), E("b", "elder", None, 300)
    for now in (300, 1000, 10_000):
        pa = effective_priority(a.priority, a.enqueued_at, now, 600)
        pb = effective_priority(b.priority, b.enqueued_at, now, 600)
        assert (pa > pb) == (order_score("normal", 0, 600) < order_score("elder", 300, 600))


def test_nobody_starves_under_a_stream_of_higher_class_callers():
    waiting = [E("n", "normal", None, 0)]
    served = []
    for t in range(0, 5000, 10):  # an elder caller every 10 s, one accept every 10 s
        waiting.append(E(f"e{t}", "elder", None, t))
        nxt = pick_next(waiting, ["mandarin"], t, POLICY)
        waiting.remove(nxt)
        served.append((t, nxt.call_sid))
    when = next(t for t, sid in served if sid == "n")
    assert when <= 700


def test_skill_only_for_skilled_agents_until_the_wait_runs_out():
    assert skill_eligible("cantonese", 0, ["cantonese"], 1, 60)
    assert not skill_eligible("cantonese", 0, ["mandarin"], 59, 60)
    assert skill_eligible("cantonese", 0, ["mandarin"], 60, 60)
    assert skill_eligible(None, 0, [], 0, 60)


def test_pick_next_skips_ineligible_then_falls_back():
    entries = [E("yue", "scam", "cantonese", 0), E("n", "normal", None, 10)]
    assert pick_next(entries, ["mandarin"], 30, POLICY).call_sid == "n"
    assert pick_next(entries, ["cantonese"], 30, POLICY).call_sid == "yue"
    assert pick_next(entries, ["mandarin"], 61, POLICY).call_sid == "yue"
    assert pick_next([E("yue", "normal", "cantonese", 0)], ["mandarin"], 5, POLICY) is None
