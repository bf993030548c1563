"""Call state in Redis, keyed by CallSid, with a TTL; plus per-caller memory and replies per step.

Twilio retries a webhook it did not get an answer to. Each reply is stored under the step it
answered, so a retried request gets the same TwiML back instead of a second queue entry or a
skipped menu step.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import redis
from redis.commands.core import Script

from ivr.flow.engine import CallState
from ivr.redis_ride import Ride, constant
from ivr.redis_ride import queue as queue_rides
from ivr.redis_ride import read as read_rides

GRAMMAR_CHANNEL = "ivr:grammar"  # call SIDs whose menu may have changed (the media process listens)


def call_key(call_sid: str, part: str) -> str:
    """Every per-call key is spelled here; the hash tag keeps one call's keys on one slot."""
    return f"ivr:{{call:{call_sid}}}:{part}"


def session_key(call_sid: str) -> str:
    return call_key(call_sid, "session")


def reply_key(call_sid: str, step: int) -> str:
    return call_key(call_sid, f"reply:{step}")


def lock_key(call_sid: str) -> str:
    return call_key(call_sid, "lock")


def stream_key(call_sid: str) -> str:
    """The one media stream admitted for the call (``ivr.media.admission``)."""
    return call_key(call_sid, "stream")


LOCK_TTL_SECONDS = 2.0  # longest a dead worker can hold a call's lock
LOCK_WAIT_SECONDS = 5.0  # well inside Twilio's 15 s webhook timeout


# One webhook step in two round trips (was five): BEGIN takes the call's lock (the same key and
# token semantics as redis-py's Lock, so both kinds of holder exclude each other) and reads the
# stored reply and session; COMMIT writes what the step produced, announces the call to the
# media process and releases the lock. All keys share the call's hash tag (one cluster slot).
_BEGIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local reply = ''
if ARGV[3] == '1' then reply = redis.call('GET', KEYS[2]) or '' end
if reply ~= '' then return {1, reply, ''} end
return {1, '', redis.call('GET', KEYS[3]) or ''}
"""
_COMMIT = """
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


@dataclass
class Step:
    """What BEGIN read for one webhook step; ``save`` inside the step is written by COMMIT."""

    call_sid: str
    reply: str | None
    record: CallRecord | None
    token: str
    reply_step: int | None
    pending: tuple[str, int | None, str | None] | None = None  # (session json, step, reply)
    rode: list[Any] = field(default_factory=list)  # values of the rides sent with BEGIN
    after: list[Ride[Any]] = field(default_factory=list)  # writes sent with COMMIT


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


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
        # Field by field, not dataclasses.asdict: asdict deep-copies every value (and copied the
        # whole state twice), which was the largest single cost of a webhook step. json.dumps
        # only reads the values, so no copy is needed; the JSON is the same.
        state = self.state
        data: dict[str, Any] = {name: getattr(state, name) for name in _STATE_FIELDS}
        data["path"] = list(state.path)
        data["meta"] = {name: getattr(self, name) for name in _META_FIELDS}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> CallRecord:
        data = json.loads(raw)
        meta = data.pop("meta")
        data["path"] = tuple(data.get("path", ()))
        known = set(cls.__dataclass_fields__)
        return cls(state=CallState(**data), **{k: v for k, v in meta.items() if k in known})


_STATE_FIELDS = tuple(f.name for f in fields(CallState))
_META_FIELDS = tuple(f.name for f in fields(CallRecord) if f.name != "state")


class SessionStore:
    """Redis persistence of calls; any worker can answer any webhook of any call."""

    def __init__(self, client: redis.Redis, ttl_seconds: int, memory_days: int):
        self.redis = client
        self.ttl = ttl_seconds
        self.memory_ttl = max(1, memory_days) * 86400
        self.memory_enabled = memory_days > 0
        self._begin = client.register_script(_BEGIN)
        self._commit = client.register_script(_COMMIT)
        self._steps = threading.local()  # the step this thread (greenlet) is inside, if any

    def load(self, call_sid: str) -> CallRecord | None:
        raw = self.redis.get(session_key(call_sid))
        return CallRecord.from_json(raw) if raw else None

    def save(self, record: CallRecord, reply_step: int | None = None,
             reply: str | None = None) -> None:
        """Save the state, and the reply it produced, in one round trip.

        Inside ``step()`` for the same call the write is held and made by the step's COMMIT
        (together with the unlock), so a webhook step costs no extra round trip.
        """
        step = getattr(self._steps, "current", None)
        if step is not None and step.call_sid == record.call_sid:
            step.pending = (record.to_json(), reply_step, reply)
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(session_key(record.call_sid), record.to_json(), ex=self.ttl)
        if reply_step is not None and reply is not None:
            pipe.set(reply_key(record.call_sid, reply_step), reply, ex=self.ttl)
        pipe.publish(GRAMMAR_CHANNEL, record.call_sid)  # same round trip; tells the media process
        pipe.execute()

    def reply(self, call_sid: str, step: int) -> str | None:
        return self.redis.get(reply_key(call_sid, step))

    @contextlib.contextmanager
    def step(self, call_sid: str, reply_step: int | None, ttl: float = LOCK_TTL_SECONDS,
             wait: float = LOCK_WAIT_SECONDS, rides: Sequence[Ride[Any]] = ()) -> Iterator[Step]:
        """One webhook step under the call's lock: lock + stored reply + session in one round
        trip, then the step's ``save`` + unlock in one (also when the step raises).

        ``rides`` (reads or idempotent writes outside the lock's care) go in BEGIN's round trip;
        their values are ``Step.rode``. ``remember`` inside the step goes in COMMIT's.
        """
        token = uuid.uuid4().hex
        keys = [lock_key(call_sid), reply_key(call_sid, reply_step if reply_step is not None
                                               else 0), session_key(call_sid)]
        args = [token, int(ttl * 1000), "1" if reply_step is not None else "0"]
        deadline = time.monotonic() + wait
        got, rode = self._run(self._begin, keys, args, rides)
        while int(got[0]) != 1:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"call {call_sid} is locked")
            time.sleep(0.01)
            got = self._begin(keys=keys, args=args)
        reply, raw = _text(got[1]), _text(got[2])
        step = Step(call_sid, reply or None, CallRecord.from_json(raw) if raw else None, token,
                    reply_step, rode=rode)
        outer = getattr(self._steps, "current", None)
        self._steps.current = step
        try:
            yield step
        finally:
            self._steps.current = outer
            session_json, saved_step, body = step.pending or ("", None, None)
            reply_key_ = reply_key(call_sid, saved_step) if saved_step is not None else keys[1]
            self._run(self._commit, [keys[0], keys[2], reply_key_],
                      [token, session_json, body if (saved_step is not None and body) else "",
                       int(self.ttl), GRAMMAR_CHANNEL, call_sid], step.after)

    def _run(self, script: Script, keys: list[str], args: list[Any],
             rides: Sequence[Ride[Any]]) -> tuple[Any, list[Any]]:
        """``script`` and the rides' commands in one round trip: (script reply, ride values)."""
        if not rides:
            return script(keys=keys, args=args), []
        for _attempt in range(2):
            pipe = self.redis.pipeline(transaction=False)
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            queue_rides(pipe, rides)
            replies = pipe.execute(raise_on_error=False)
            if not isinstance(replies[0], redis.exceptions.NoScriptError):
                break
            self.redis.script_load(script.script)  # Redis lost its script cache (restart, flush)
        if isinstance(replies[0], Exception):
            raise replies[0]
        return replies[0], read_rides(replies[1:], rides)

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
        ride = self.remember_ride(caller, prefs)
        step = getattr(self._steps, "current", None)
        if step is not None:  # inside a webhook step: written by its COMMIT, no extra trip
            step.after.append(ride)
            return
        pipe = self.redis.pipeline(transaction=True)
        queue_rides(pipe, [ride])
        pipe.execute()

    def remember_ride(self, caller: str, prefs: dict[str, str]) -> Ride[None]:
        key = prefs_key(caller)
        fields_values = [part for item in prefs.items() for part in item]
        return Ride((("HSET", key, *fields_values), ("EXPIRE", key, self.memory_ttl)),
                    lambda _replies: None)

    def preferences_ride(self, caller: str) -> Ride[dict[str, str]]:
        """``preferences`` as a command riding in a step's BEGIN (``step(rides=...)``)."""
        if not self.memory_enabled:
            return constant({})
        return Ride((("HGETALL", prefs_key(caller)),), lambda replies: replies[0] or {})

    # ------------------------------------------------------------------ the rest of a call's keys
    def voice_of(self, call_sid: str) -> tuple[str | None, str | None]:
        """(dialect, voice_mode) of the call; (None, None) when unknown or unreadable.

        Read leniently from the stored JSON (no full record), so a hold prompt is never lost to
        a session written by an older or newer version of the record.
        """
        try:
            raw = self.redis.get(session_key(call_sid))
            data = json.loads(raw) if raw else {}
        except (ValueError, TypeError):
            data = {}
        return data.get("dialect") or None, data.get("voice_mode") or None

    def claim_spoken(self, call_sid: str, step: int, slot: str, value: str,
                     ttl: int = 600) -> bool:
        """True the first time speech acts at this menu step in this slot (debounce)."""
        return bool(self.redis.set(call_key(call_sid, f"spoke:{step}:{slot}"), value, nx=True,
                                   ex=ttl))

    def mark_warned(self, call_sid: str, ttl: int) -> bool:
        """True the first time a scam warning is due for the call (one warning per call)."""
        return bool(self.redis.set(call_key(call_sid, "scam-warned"), "1", nx=True, ex=ttl))

    def append_transcript(self, call_sid: str, line: str, keep_seconds: int,
                          max_lines: int = 200) -> None:
        """Keep a final transcript line for ``keep_seconds`` (the retention setting)."""
        key = call_key(call_sid, "transcript")
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(key, line)
        pipe.ltrim(key, -max_lines, -1)
        pipe.expire(key, keep_seconds)
        pipe.execute()

    def count_enqueue_retry(self, call_sid: str, ttl: int = 3600) -> int:
        """How many times Twilio's queue refused this caller so far (this one included)."""
        key = call_key(call_sid, "enqueue_retries")
        retries = int(self.redis.incr(key))
        self.redis.expire(key, ttl)
        return retries

    def remember_verstat(self, call_sid: str, verstat: str, ttl: int) -> None:
        """/voice/incoming: keep the call's StirVerstat for a call-back decided later."""
        self.redis.set(call_key(call_sid, "verstat"), verstat[:64], ex=max(60, ttl))

    def verstat(self, call_sid: str) -> str | None:
        return self.redis.get(call_key(call_sid, "verstat"))
