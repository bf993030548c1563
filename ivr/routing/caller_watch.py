"""Repeat-caller and watch-list flags (Redis I/O): sliding-window call counts per caller.

Why: complaint-line flooding shows up as one number calling dozens of times in a short window.
Such callers are flagged for the agent, never blocked. Keys hold a salted hash of the number, never
the number itself; one sorted set per caller (score = call time) trimmed to the window, with a TTL.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterable

from ivr.redis_ride import Ride, queue

REPEAT_CALLER = "repeat_caller"
WATCH_LIST = "watch_list"
_HASH_RE = re.compile(r"^[0-9a-f]{20,64}$")


def normalise_number(number: str) -> str:
    """Digits only, Chinese numbers in one form: '+86 139-1234-5678' == '13912345678'."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("0086"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    return digits


def caller_key(number: str, salt: str = "") -> str:
    """Stable pseudonymous id of a caller (what Redis keys and agent contexts carry)."""
    return hashlib.sha256((salt + normalise_number(number)).encode()).hexdigest()[:24]


class CallerWatch:
    def __init__(self, redis, window_seconds: float = 3600.0, threshold: int = 10,
                 watch_list: Iterable[str] = (), salt: str = "") -> None:
        self.redis = redis
        self.window = float(window_seconds)
        self.threshold = int(threshold)
        self.salt = salt
        self.watch: set[str] = set()
        for entry in watch_list:
            entry = str(entry).strip().lower()
            self.watch.add(entry if _HASH_RE.match(entry) else caller_key(entry, salt))

    def key_for(self, number: str) -> str:
        return self.redis_key(caller_key(number, self.salt))

    @staticmethod
    def redis_key(hashed: str) -> str:
        return f"ivr:{{caller:{hashed}}}:calls"  # hash tag: one caller's keys on one slot

    def note_call(self, number: str, now: float | None = None,
                  call_sid: str | None = None) -> list[str]:
        """Record a call and return its flags. The same CallSid noted twice counts once."""
        ride = self.note_ride(number, now, call_sid)
        pipe = self.redis.pipeline(transaction=True)
        queue(pipe, [ride])
        return ride.read(pipe.execute())

    def note_ride(self, number: str, now: float | None = None,
                  call_sid: str | None = None) -> Ride[list[str]]:
        """``note_call`` as commands that ride in another round trip (a webhook's first step).

        Idempotent for a CallSid (the sorted set's member), so the step may send it again.
        """
        now = time.time() if now is None else float(now)
        hashed = caller_key(number, self.salt)
        key = self.redis_key(hashed)
        member = call_sid or f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        watched = hashed in self.watch

        def flags(replies: list) -> list[str]:
            found = []
            if int(replies[2]) > self.threshold:
                found.append(REPEAT_CALLER)
            if watched:
                found.append(WATCH_LIST)
            return found

        return Ride((("ZADD", key, now, member),
                     ("ZREMRANGEBYSCORE", key, "-inf", now - self.window),
                     ("ZCARD", key),
                     ("EXPIRE", key, int(self.window) + 60)), flags)

    def count(self, number: str, now: float | None = None) -> int:
        """Calls from this number inside the window ending at ``now`` (read-only)."""
        now = time.time() if now is None else float(now)
        return int(self.redis.zcount(self.key_for(number), now - self.window, "+inf"))
