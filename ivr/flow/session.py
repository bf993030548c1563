"""Call state in Redis, keyed by CallSid, with a TTL; plus per-caller memory and replies per step.

Twilio retries a webhook it did not get an answer to. Each reply is stored under the step it
answered, so a retried request gets the same TwiML back instead of a second queue entry or a
skipped menu step.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from ivr.flow.engine import CallState

GRAMMAR_CHANNEL = "ivr:grammar"  # call SIDs whose menu may have changed (the media process listens)


def session_key(call_sid: str) -> str:
    return f"ivr:{{call:{call_sid}}}:session"


def reply_key(call_sid: str, step: int) -> str:
    return f"ivr:{{call:{call_sid}}}:reply:{step}"


def lock_key(call_sid: str) -> str:
    return f"ivr:{{call:{call_sid}}}:lock"


LOCK_TTL_SECONDS = 2.0  # longest a dead worker can hold a call's lock
LOCK_WAIT_SECONDS = 5.0  # well inside Twilio's 15 s webhook timeout


def prefs_key(caller: str) -> str:
    return f"ivr:{{caller:{caller}}}:prefs"


@dataclass
class CallRecord:
    """CallState plus what the service knows about the call outside the flow."""

    state: CallState
    call_sid: str
    caller_key: str
    caller_masked: str
    from_number: str  # kept only for the session TTL: needed to call the caller back
    started_at: float = field(default_factory=time.time)
    stream_started: bool = False
    scam: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    bridged: bool = False  # an agent has the caller: speech only annotates from now on
    rebuilt: bool = False  # the session was lost and rebuilt from a later webhook

    def to_json(self) -> str:
        data = asdict(self.state)
        data["path"] = list(self.state.path)
        meta = {k: v for k, v in asdict(self).items() if k != "state"}
        return json.dumps({**data, "meta": meta}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> CallRecord:
        data = json.loads(raw)
        meta = data.pop("meta")
        data["path"] = tuple(data.get("path", ()))
        known = set(cls.__dataclass_fields__)
        return cls(state=CallState(**data), **{k: v for k, v in meta.items() if k in known})


class SessionStore:
    """Redis persistence of calls; any worker can answer any webhook of any call."""

    def __init__(self, client: redis.Redis, ttl_seconds: int, memory_days: int):
        self.redis = client
        self.ttl = ttl_seconds
        self.memory_ttl = max(1, memory_days) * 86400
        self.memory_enabled = memory_days > 0

    def load(self, call_sid: str) -> CallRecord | None:
        raw = self.redis.get(session_key(call_sid))
        return CallRecord.from_json(raw) if raw else None

    def save(self, record: CallRecord, reply_step: int | None = None,
             reply: str | None = None) -> None:
        """Save the state, and the reply it produced, in one round trip."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(session_key(record.call_sid), record.to_json(), ex=self.ttl)
        if reply_step is not None and reply is not None:
            pipe.set(reply_key(record.call_sid, reply_step), reply, ex=self.ttl)
        pipe.publish(GRAMMAR_CHANNEL, record.call_sid)  # same round trip; tells the media process
        pipe.execute()

    def reply(self, call_sid: str, step: int) -> str | None:
        return self.redis.get(reply_key(call_sid, step))

    @contextlib.contextmanager
    def locked(self, call_sid: str, ttl: float = LOCK_TTL_SECONDS,
               wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        """Serialise every write to one call's session (webhooks, speech, status callbacks).

        The lock expires after ``ttl`` seconds, so a worker killed while holding it delays the
        call's next webhook by at most that long; handlers finish in milliseconds.
        """
        lock = self.redis.lock(lock_key(call_sid), timeout=ttl, blocking_timeout=wait,
                               sleep=0.01)
        if not lock.acquire():
            raise TimeoutError(f"call {call_sid} is locked")
        try:
            yield
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()

    def update(self, call_sid: str,
               change: Callable[[CallRecord], bool | None]) -> CallRecord | None:
        """Load, change and save a call's record under its lock (None when there is none).

        ``change`` returns False to leave the stored record as it was.
        """
        with self.locked(call_sid):
            record = self.load(call_sid)
            if record is None:
                return None
            if change(record) is not False:
                self.save(record)
            return record

    def preferences(self, caller: str) -> dict[str, str]:
        if not self.memory_enabled:
            return {}
        return self.redis.hgetall(prefs_key(caller))

    def remember(self, caller: str, prefs: dict[str, str]) -> None:
        """Keep the caller's dialect / voice choices for their next call."""
        if not prefs or not self.memory_enabled:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(prefs_key(caller), mapping=prefs)
        pipe.expire(prefs_key(caller), self.memory_ttl)
        pipe.execute()
