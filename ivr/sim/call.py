"""One simulated call: fetch TwiML like Twilio, run its verbs on the virtual clock, end it.

The verbs themselves live in ``verbs.py`` and ``queue_verbs.py``; this module owns the call's
state (clock, log, caller input, REST interrupts, streams) and the document loop.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from requests import RequestException

from ivr.sim import twiml
from ivr.sim.audio import CallerAudio, load_clip
from ivr.sim.caller import Caller, Opportunity
from ivr.sim.clock import CallLog, VirtualClock
from ivr.sim.control import CallEnded, Instruction, RestInterrupt, Transfer
from ivr.sim.verbs import run_verb
from ivr.sim.webhook import Reply, Webhooks, new_sid

if TYPE_CHECKING:
    from ivr.sim.media_client import MediaStream
    from ivr.sim.simulator import Simulator

log = logging.getLogger(__name__)


@dataclass
class CallResult:
    """What a scenario or load run needs to know about a finished call."""

    call_sid: str
    ended_by: str
    status: str
    duration: float
    enqueued_at: float | None
    bridged_at: float | None
    heard: list[str]
    errors: list[str]
    latencies: list[float]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seconds_to_human(self) -> float | None:
        """Seconds until an agent answered; else until the caller reached the human queue."""
        return self.bridged_at if self.bridged_at is not None else self.enqueued_at


class SimCall:
    """A live call. ``run()`` blocks until it ends; REST requests reach it via ``interrupt``."""

    def __init__(self, sim: Simulator, caller: Caller, *, to: str | None = None,
                 url: str | None = None, method: str = "POST", direction: str = "inbound",
                 from_: str | None = None, status_callback: str | None = None,
                 first_twiml: str | None = None, listener=None):
        self.sim = sim
        self.config = sim.config
        self.caller = caller
        self.sid = new_sid("CA")
        self.from_ = from_ or caller.number
        self.to = to or self.config.hotline
        self.direction = direction
        self.first_url = url or self.config.voice_url
        self.first_method = method
        self.first_twiml = first_twiml
        self.status_callback = status_callback if direction != "inbound" else (
            self.config.status_url)
        self.clock = VirtualClock(self.config.speed)
        self.log = CallLog(self.clock, listener)
        self.audio = CallerAudio()
        self.hooks = Webhooks(self.config.auth_token)
        self.status = "ringing" if direction == "inbound" else "in-progress"
        self.streams: list[MediaStream] = []
        self.queue = None  # the Queue the call waits in, if any
        self.heard: list[str] = []
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.enqueued_at: float | None = None
        self.bridged_at: float | None = None
        self.answered = False  # a verb has run (Reject only works before that)
        self._wake = threading.Event()
        self._rest: Instruction | None = None
        self._inbox: list[tuple[float, int, str, str]] = []  # (t, seq, kind, value)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.result: CallResult | None = None

    # --- what callers and the REST stand-in do -------------------------------------------------

    def schedule_digit(self, digit: str, at: float | None = None) -> None:
        self._push(at, "digit", digit)

    def schedule_hangup(self, at: float | None = None) -> None:
        self._push(at, "hangup", "")

    def schedule_audio(self, path: str | Path, at: float | None = None) -> float:
        """The caller speaks a WAV clip at ``at`` (default now); returns when it ends."""
        start = self.clock.now() if at is None else at
        end = self.audio.add(start, load_clip(path))
        self.log.add("caller_audio", file=str(path), start=round(start, 3), end=round(end, 3))
        self._wake.set()
        return end

    def interrupt(self, instruction: Instruction) -> None:
        """A REST request for this call (thread-safe): drop the current TwiML at once."""
        with self._lock:
            self._rest = instruction
        self._wake.set()

    def _push(self, at: float | None, kind: str, value: str) -> None:
        t = self.clock.now() if at is None else at
        with self._lock:
            heapq.heappush(self._inbox, (t, next(self._seq), kind, value))
        self._wake.set()

    # --- running ------------------------------------------------------------------------------

    def run(self) -> CallResult:
        self.sim.register(self)
        self.log.add("call_start", sid=self.sid, caller=self.from_, to=self.to,
                     direction=self.direction)
        ended = CallEnded("end_of_twiml")
        try:
            self.caller.on_start(self)
            nxt = (Transfer(twiml=self.first_twiml, base_url=self.first_url)
                   if self.first_twiml is not None else Transfer(self.first_url, self.first_method))
            while True:
                try:
                    self.run_transfer(nxt)
                    raise CallEnded("end_of_twiml")
                except Transfer as t:
                    nxt = t
                except RestInterrupt as r:
                    nxt = self.follow_rest(r.instruction)
        except CallEnded as exc:
            ended = exc
        except twiml.TwiMLError as exc:
            self.error(f"TwiML error: {exc}")
            ended = CallEnded("app_error")
        except Exception as exc:  # noqa: BLE001 - a simulator bug must end the call, not hang it
            log.exception("simulator failure on %s", self.sid)
            self.error(f"simulator failure: {exc!r}")
            ended = CallEnded("app_error", "failed")
        return self._finish(ended)

    def run_transfer(self, t: Transfer) -> None:
        """Fetch (or take inline) a document and run it."""
        if t.twiml is not None:
            base = t.base_url or self.first_url
            self.execute(twiml.parse(t.twiml, self.config.strict), base)
            return
        assert t.url is not None
        verbs, doc_url = self.fetch_twiml(t.url, t.method, t.params)
        self.execute(verbs, doc_url)

    def follow_rest(self, ins: Instruction) -> Transfer:
        """Turn a REST instruction into the next document (Twilio fetches the new URL)."""
        self.log.add("rest_applied", instruction=ins.kind, url=ins.url)
        if ins.kind == "hangup":
            raise CallEnded("rest_completed")
        if ins.kind == "twiml":
            return Transfer(twiml=ins.twiml, base_url=self.first_url)
        return Transfer(ins.url, ins.method)

    def execute(self, verbs: list[twiml.Node], doc_url: str, in_queue: bool = False) -> None:
        for node in verbs:
            self.check()
            run_verb(self, node, doc_url, in_queue)
            self.answered = True

    # --- helpers for verbs --------------------------------------------------------------------

    def params(self, **extra: Any) -> dict[str, str]:
        """Twilio's standard request parameters, plus ``extra``."""
        p = {
            "AccountSid": self.config.account_sid, "ApiVersion": "2010-04-01",
            "CallSid": self.sid, "CallStatus": self.status, "Direction": self.direction,
            "From": self.from_, "To": self.to, "Caller": self.from_, "Called": self.to,
            "FromCountry": "CN", "ToCountry": "CN", "CallerCountry": "CN", "CalledCountry": "CN",
        }
        p.update({k: str(v) for k, v in extra.items()})
        return p

    def request(self, url: str, method: str, extra: dict[str, Any] | None = None,
                kind: str = "webhook") -> Reply:
        """A signed webhook; its round trip is logged and (by default) costs virtual time.

        A path the caller's ``drop_paths`` names is never sent (a callback Twilio lost)."""
        if any(p in url for p in getattr(self.caller, "drop_paths", ())):
            self.log.add("dropped", kind=kind, url=url)
            return Reply(url, method, 204, "", b"", 0.0)
        try:
            reply = self.hooks.request(method, url, self.params(**(extra or {})))
        except RequestException as exc:
            self.error(f"{method} {url} failed: {exc}")
            raise CallEnded("app_error", "failed") from exc
        self.latencies.append(reply.latency)
        if self.config.count_latency:
            self.clock.advance(reply.latency)
        self.log.add(kind, method=method, url=url, status=reply.status,
                     ms=round(reply.latency * 1000, 1))
        if self.status == "ringing":
            self.status = "in-progress"
        return reply

    def fetch_twiml(self, url: str, method: str, extra: dict[str, Any] | None = None,
                    use_fallback: bool = True) -> tuple[list[twiml.Node], str]:
        """Fetch a TwiML document; HTTP errors and bad content end the call like Twilio's
        "an application error has occurred" (or fetch the Fallback URL when there is one)."""
        fallback = self.config.fallback_url if use_fallback else None
        try:
            reply: Reply | None = self.request(url, method, extra)
        except CallEnded as exc:
            if exc.reason != "app_error" or not fallback:
                raise
            reply = None
        if reply is None or not 200 <= reply.status < 300:
            if reply is not None:
                self.error(f"HTTP {reply.status} from {method} {url}")
            if not fallback or url == fallback:
                raise CallEnded("app_error", "failed")
            self.log.add("fallback", url=fallback, failed=url)
            return self.fetch_twiml(fallback, "POST",
                                    {**(extra or {}), "ErrorCode": "11200", "ErrorUrl": url})
        if reply.content_type in ("text/xml", "application/xml", "text/html", ""):
            return twiml.parse(reply.body, self.config.strict), url
        if reply.content_type.startswith("audio/"):
            return [twiml.Node("Play", text=url)], url
        if reply.content_type == "text/plain":
            return [twiml.Node("Say", text=reply.text)], url
        self.error(f"content type {reply.content_type!r} from {url} is not TwiML")
        raise CallEnded("app_error", "failed")

    def sleep(self, seconds: float, digits: bool = False) -> str | None:
        """Let ``seconds`` of call time pass. Returns a digit if ``digits`` and one is pressed;
        raises RestInterrupt / CallEnded when the app or the caller acts meanwhile."""
        end = self.clock.now() + max(0.0, seconds)
        while True:
            if self.clock.now() >= self.config.max_call_seconds:
                self.log.add("max_duration", seconds=self.config.max_call_seconds)
                raise CallEnded("max_duration")
            self.check()
            now = self.clock.now()
            with self._lock:
                due = self._inbox[0] if self._inbox and self._inbox[0][0] <= now else None
                if due:
                    heapq.heappop(self._inbox)
                nxt = self._inbox[0][0] if self._inbox else math.inf
            if due:
                _, _, kind, value = due
                if kind == "hangup":
                    self.log.add("caller_hangup")
                    raise CallEnded("caller_hangup")
                self.log.add("dtmf", digit=value, collected=digits)
                for s in self.streams:
                    s.send_dtmf(value)
                if digits:
                    return value
                continue
            if now >= end:
                return None
            self._wake.clear()
            target = min(end, nxt, self.config.max_call_seconds)
            self.clock.wait_until(target, self._wake)

    def check(self) -> None:
        """Raise the pending REST instruction, if any."""
        with self._lock:
            ins, self._rest = self._rest, None
        if ins is not None:
            raise RestInterrupt(ins)

    def offer(self, kind: str, prompt_seconds: float = 0.0, **info: Any) -> None:
        self.caller.on_opportunity(
            self, Opportunity(kind, self.clock.now(), prompt_seconds, info)
        )

    def hear(self, what: str) -> None:
        self.heard.append(what)

    def error(self, message: str) -> None:
        self.errors.append(message)
        self.log.add("error", message=message)

    # --- the end ------------------------------------------------------------------------------

    def _finish(self, ended: CallEnded) -> CallResult:
        for s in list(self.streams):
            s.stop()
        self.streams.clear()
        duration = self.clock.now()
        self.status = ended.status
        self.log.add("call_end", reason=ended.reason, status=ended.status,
                     duration=round(duration, 3))
        if self.status_callback:
            with contextlib.suppress(CallEnded):
                self.request(self.status_callback, "POST", {
                    "CallStatus": ended.status, "CallDuration": int(round(duration)),
                    "Duration": max(1, math.ceil(duration / 60)),
                    "CallbackSource": "call-progress-events", "SequenceNumber": "0",
                }, kind="status_callback")
        self.hooks.close()
        self.result = CallResult(
            self.sid, ended.reason, ended.status, duration, self.enqueued_at, self.bridged_at,
            list(self.heard), list(self.errors), list(self.latencies),
            [e.as_dict() for e in self.log.events],
        )
        self.sim.unregister(self)
        self.done.set()
        return self.result
