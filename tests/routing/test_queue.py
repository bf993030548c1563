"""The Redis queue against a real server: atomic accept, hang-up, priority raise, idempotence."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from ivr.routing.queue import AgentBusy, CallQueue, QueueEntry
from ivr.routing.rules import QueuePolicy, pick_next

POLICY = QueuePolicy(skill_wait_seconds=60, aging_seconds=600)


@pytest.fixture
def queue(redis_client):
    return CallQueue(redis_client, POLICY)


def entry(sid, priority="normal", t=1000.0, skill=None, **ctx):
    return QueueEntry(sid, priority, skill, t, ctx)


def test_enqueue_is_idempotent(queue):
    assert queue.enqueue(entry("CA1", context_ok=1))
    assert not queue.enqueue(entry("CA1", "scam"))
    assert len(queue) == 1
    assert queue.sizes() == {"scam": 0, "elder": 0, "normal": 1}
    assert queue.get("CA1").context == {"context_ok": 1}


def test_positions_follow_class_then_arrival(queue):
    queue.enqueue(entry("n1", "normal", 100))
    queue.enqueue(entry("e1", "elder", 110))
    queue.enqueue(entry("s1", "scam", 120))
    queue.enqueue(entry("n2", "normal", 101))
    assert [queue.position(s) for s in ("s1", "e1", "n1", "n2")] == [1, 2, 3, 4]
    assert queue.position("nope") is None
    assert [e.call_sid for e in queue.entries()] == ["s1", "e1", "n1", "n2"]


def test_hangup_removes(queue):
    queue.enqueue(entry("CA1", t=1))
    queue.enqueue(entry("CA2", t=2))
    what, removed = queue.remove("CA1")
    assert what == "removed" and removed.call_sid == "CA1"
    assert queue.position("CA2") == 1
    assert queue.remove("CA1") == ("absent", None)
    assert queue.accept_next("a1", [], now=10).call_sid == "CA2"
    assert queue.accept_next("a2", [], now=10) is None
    assert queue.sizes()["normal"] == 0


def test_priority_raise_moves_a_caller_ahead_and_keeps_enqueued_at(queue):
    queue.enqueue(entry("first", "elder", 100))
    queue.enqueue(entry("late", "normal", 200, flags=["repeat_caller"]))
    assert queue.position("late") == 2
    assert queue.raise_priority("late", "scam", {"scam": {"category": "safe_account"}})
    assert queue.position("late") == 1
    got = queue.get("late")
    assert got.enqueued_at == 200 and got.priority == "scam"
    assert got.context == {"flags": ["repeat_caller"], "scam": {"category": "safe_account"}}
    assert queue.sizes() == {"scam": 1, "elder": 1, "normal": 0}
    # never lowered, but context still merged
    assert queue.raise_priority("late", "normal", {"note": "x"})
    assert queue.get("late").priority == "scam" and queue.get("late").context["note"] == "x"
    assert not queue.raise_priority("ghost", "scam", {})


def test_raise_priority_of_a_skill_entry_keeps_it_skill_restricted(queue):
    queue.enqueue(entry("n", "elder", 100))
    queue.enqueue(entry("yue", "normal", 110, skill="cantonese"))
    queue.raise_priority("yue", "scam")
    assert queue.accept_next("mandarin-agent", ["mandarin"], now=120).call_sid == "n"
    assert queue.accept_next("yue-agent", ["cantonese"], now=120).call_sid == "yue"


def test_skill_fallback_after_wait(queue):
    queue.enqueue(entry("yue", "scam", 0, skill="cantonese"))
    assert queue.accept_next("a", ["mandarin"], now=30) is None
    got = queue.accept_next("a", ["mandarin"], now=60)
    assert got.call_sid == "yue" and got.agent == "a" and got.state == "assigned"


def test_agent_holds_one_caller_until_finish(queue):
    queue.enqueue(entry("CA1", t=1))
    queue.enqueue(entry("CA2", t=2))
    assert queue.accept_next("a", [], now=5).call_sid == "CA1"
    with pytest.raises(AgentBusy):
        queue.accept_next("a", [], now=6)
    assert queue.held_by("a").call_sid == "CA1"
    done = queue.finish("a")
    assert done.call_sid == "CA1" and done.accepted_at == 5
    assert queue.get("CA1") is None and queue.finish("a") is None
    assert queue.accept_next("a", [], now=7).call_sid == "CA2"


def test_requeue_restores_the_old_place(queue):
    queue.enqueue(entry("CA1", "elder", 1, skill="sichuanese"))
    queue.enqueue(entry("CA2", "elder", 2))
    assert queue.accept_next("a", ["sichuanese"], now=5).call_sid == "CA1"
    assert queue.requeue("CA1")
    assert queue.position("CA1") == 1 and queue.held_by("a") is None
    assert queue.sizes()["elder"] == 2
    assert queue.accept_next("b", ["mandarin"], now=6).call_sid == "CA2"  # still skill-only
    assert queue.accept_next("b2", ["mandarin"], now=61).call_sid == "CA1"


def test_callback_entry_keeps_its_place_on_hangup(queue):
    queue.enqueue(entry("CA1", t=1))
    assert queue.mark_callback("CA1", "+8613912345678", "+861095555")
    assert queue.remove("CA1", keep_callback=True) == ("kept", None)
    got = queue.accept_next("a", [], now=3)
    assert got.callback and got.callback_to == "+8613912345678"
    assert "callback_to" not in got.public()
    assert queue.remove("CA1", keep_callback=True) == ("assigned", None)


def test_lua_agrees_with_the_pure_rules(queue):
    rnd = random.Random(7)
    skills = [None, None, None, "cantonese", "sichuanese"]
    entries = []
    for i in range(300):
        e = entry(f"CA{i:04d}", rnd.choice(["scam", "elder", "normal", "normal"]),
                  rnd.uniform(0, 2000), rnd.choice(skills))
        entries.append(e)
        queue.enqueue(e)
    now = 2000.0
    for step in range(300):
        agent_skills = rnd.choice([["mandarin"], ["mandarin", "cantonese"], ["sichuanese"]])
        now += rnd.uniform(0, 5)
        expected = pick_next(entries, agent_skills, now, POLICY)
        got = queue.accept_next(f"agent{step}", agent_skills, now=now)
        assert (got and got.call_sid) == (expected and expected.call_sid)
        if expected:
            entries.remove(expected)
    assert sum(queue.sizes().values()) == len(entries) == len(queue)


def test_concurrent_accepts_take_each_caller_exactly_once(queue, redis_server):
    import redis

    for i in range(100):
        queue.enqueue(entry(f"CA{i:03d}", ["scam", "elder", "normal"][i % 3], 1000 + i))
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def agent_thread(n: int) -> None:
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        q = CallQueue(client, POLICY)
        start.wait()
        for attempt in range(50):  # 20 threads x 50 = 1,000 accept attempts
            got = q.accept_next(f"agent-{n}-{attempt}", ["mandarin"])
            if got:
                with lock:
                    results.append(got.call_sid)

    threads = [threading.Thread(target=agent_thread, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(results)
    assert len(counts) == 100 and set(counts.values()) == {1}
    assert len(queue) == 0 and sum(queue.sizes().values()) == 0


def test_stray_ids_without_entry_are_dropped_and_accept_returns(queue):
    """A CallSid in a skill set (or open) with no entry hash used to loop inside Redis."""
    queue.enqueue(entry("CAreal", t=1000.0))
    queue.r.zadd(queue.skill_key("cantonese"), {"CAstray1": 0})
    queue.r.zadd(queue.k_open, {"CAstray2": 0})
    got = queue.accept_next("chan", ["cantonese"], now=1001.0)
    assert got is not None and got.call_sid == "CAreal"
    assert queue.r.zcard(queue.skill_key("cantonese")) == 0
    assert queue.r.zscore(queue.k_open, "CAstray2") is None
    assert queue.r.ping()


def test_accept_is_bounded_even_with_thousands_of_strays(queue):
    queue.r.zadd(queue.skill_key("cantonese"), {f"CAstray{i}": i for i in range(3000)})
    assert queue.accept_next("chan", ["cantonese"], now=1.0) is None  # returns, Redis alive
    assert queue.r.ping()
    assert queue.r.zcard(queue.skill_key("cantonese")) == 2000  # 1000 dropped per call
