"""Twilio queues as the stand-in keeps them: created on first <Enqueue>, FIFO members, and the
figures Twilio reports (position, size, average wait) to waitUrl and the REST API."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from ivr.sim.webhook import new_sid


@dataclass
class Member:
    call_sid: str
    enqueued_real: float  # wall clock (REST wait_time); the call has its own virtual clock
    date_enqueued: str


@dataclass
class Queue:
    sid: str
    friendly_name: str
    max_size: int = 1000
    members: list[Member] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # virtual seconds of past members
    date_created: str = field(default_factory=lambda: formatdate(usegmt=True))

    @property
    def average_wait(self) -> int:
        return int(sum(self.waits) / len(self.waits)) if self.waits else 0

    def position(self, call_sid: str) -> int:
        for i, m in enumerate(self.members, start=1):
            if m.call_sid == call_sid:
                return i
        return 0


class QueueRegistry:
    """All queues of the simulated account; thread-safe (calls and REST requests share it)."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Queue] = {}
        self._lock = threading.Lock()

    def get_or_create(self, name: str, max_size: int | None = None) -> Queue:
        with self._lock:
            for q in self._by_sid.values():
                if q.friendly_name == name:
                    return q
            q = Queue(new_sid("QU"), name, max_size or 1000)
            self._by_sid[q.sid] = q
            return q

    def get(self, sid: str) -> Queue | None:
        with self._lock:
            return self._by_sid.get(sid)

    def all(self) -> list[Queue]:
        with self._lock:
            return list(self._by_sid.values())

    def join(self, queue: Queue, call_sid: str) -> bool:
        """Add a member; False when the queue is full (QueueResult=queue-full)."""
        with self._lock:
            if len(queue.members) >= queue.max_size:
                return False
            queue.members.append(
                Member(call_sid, time.monotonic(), formatdate(usegmt=True))
            )
            return True

    def leave(self, queue: Queue, call_sid: str, waited: float) -> None:
        with self._lock:
            queue.members = [m for m in queue.members if m.call_sid != call_sid]
            queue.waits.append(waited)

    def front(self, queue: Queue) -> str | None:
        with self._lock:
            return queue.members[0].call_sid if queue.members else None

    def snapshot(self, queue: Queue, call_sid: str) -> tuple[int, int]:
        """(position, current size) read together."""
        with self._lock:
            return queue.position(call_sid), len(queue.members)
