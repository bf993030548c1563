"""Rendered TwiML kept per (decision, dialect, voice mode, config version, stream): a menu step
then costs no XML building, no prompt hashing and no audio-file checks.

Entries live ``ttl`` seconds, so audio removed from the voice cache is noticed within that time,
and a document is only kept when every sentence had rendered audio (a ``<Say>`` stand-in is
rebuilt until the background render finishes). Pure: no Flask, no Redis.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

STEP_MARK = "__IVR_STEP__"  # stands for the step number in a cached menu document
TOKEN_MARK = "__IVR_STREAM_TOKEN__"  # stands for the call's own media stream token


class TwimlCache:
    """A small LRU with a time to live; safe to share between a worker's threads."""

    def __init__(self, max_entries: int = 4096, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.ttl = ttl
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < self.clock():
                if item is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: Hashable, body: str) -> None:
        with self._lock:
            self._items[key] = (self.clock() + self.ttl, body)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
