"""The call-flow service: runs the pure engine on stored call state and turns decisions into TwiML.

This is the I/O side of the flow (Redis, queue, voice catalog); the blueprint in
``ivr.telephony.webhooks`` only parses requests and calls these methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ivr import metrics
from ivr.config.models import text_for
from ivr.flow.engine import (
    CallerInfo,
    CallState,
    FlowConfig,
    Goodbye,
    Outcome,
    Prompt,
    Transfer,
    dialect_for_number,
    handle_input,
    start_call,
)
from ivr.flow.session import CallRecord, SessionStore
from ivr.flow.twiml_cache import STEP_MARK, TOKEN_MARK, TwimlCache
from ivr.privacy import mask_number
from ivr.redis_ride import Ride
from ivr.routing.caller_watch import caller_key
from ivr.telephony import twiml
from ivr.telephony.stream_token import PARAMETER as STREAM_TOKEN
from ivr.telephony.stream_token import make_token

if TYPE_CHECKING:
    from ivr.config.holder import ConfigHolder
    from ivr.flow.elder_hook import ElderLookup
    from ivr.routing.caller_watch import CallerWatch
    from ivr.routing.queue import CallQueue
    from ivr.speech.voices import VoiceCatalog

log = logging.getLogger(__name__)

SPEECH_STREAM_NAME = "ivr-speech"  # stopped by name when the caller is bridged to an agent
INCOMING_STEP = -1  # reply slot of /voice/incoming (menu steps count from 0)


@dataclass(frozen=True)
class CallUrls:
    """Where the TwiML points Twilio next (relative paths resolve against the webhook's URL)."""

    menu: str = "/voice/menu"
    wait: str = "/voice/wait"
    queue_exit: str = "/voice/queue-exit"
    media_path: str = "/media"


class CallFlow:
    """One per process; stateless between requests (all call state is in Redis)."""

    def __init__(self, config_holder: ConfigHolder, sessions: SessionStore, secret: str,
                 queue: CallQueue | None = None, voices: VoiceCatalog | None = None,
                 caller_watch: CallerWatch | None = None,
                 speech_enabled: Callable[[], bool] = lambda: False,
                 urls: CallUrls = CallUrls(), elder_lookup: ElderLookup | None = None):
        self.holder = config_holder
        self.sessions = sessions
        self.secret = secret
        self.queue = queue
        self.voices = voices
        self.caller_watch = caller_watch
        self.speech_enabled = speech_enabled
        self.urls = urls
        self.elder_lookup = elder_lookup
        self.twiml_cache = TwimlCache()

    # ------------------------------------------------------------------ config views
    @property
    def cfg(self) -> FlowConfig:
        c = self.holder.current
        return FlowConfig(service=c.service, menus=c.menus, elders=c.elders)

    # ------------------------------------------------------------------ webhooks
    def incoming(self, call_sid: str, from_number: str, ws_base: str,
                 to_number: str = "") -> str:
        """First webhook of a call: greeting + root menu, or a human at once for known elders."""
        # The admin's lookup hook runs before the call lock (with its own timeout), so a slow
        # hook never holds the lock a retried webhook waits on.
        known_elder = self.is_known_elder(from_number)
        key = caller_key(from_number, self.secret)
        # The caller's remembered choices and the repeat-caller count ride in the lock's round
        # trip (neither needs the call's lock; noting the same CallSid twice counts once).
        rides: list[Ride[Any]] = [self.sessions.preferences_ride(key)]
        if self.caller_watch is not None:
            rides.append(self.caller_watch.note_ride(from_number, time.time(), call_sid))
        with self.sessions.step(call_sid, INCOMING_STEP, rides=rides) as step:
            if step.reply:
                return step.reply  # Twilio retried: same answer, nothing happens twice
            cfg = self.cfg
            prefs = step.rode[0]
            info = CallerInfo(
                known_elder=known_elder,
                remembered_dialect=prefs.get("dialect"),
                remembered_voice_mode=prefs.get("voice_mode"),
                prefix_dialect=dialect_for_number(cfg, from_number),
                elder_line=bool(to_number) and to_number in cfg.elders.lines,
            )
            outcome = start_call(cfg, info)
            record = CallRecord(state=outcome.state, call_sid=call_sid, caller_key=key,
                                caller_masked=mask_number(from_number), from_number=from_number)
            if self.caller_watch is not None:
                record.flags = list(step.rode[1])
            metrics.CALLS.labels(outcome.state.dialect, str(outcome.state.elder).lower()).inc()
            log.info("call %s from %s: dialect=%s elder=%s", call_sid, record.caller_masked,
                     outcome.state.dialect, outcome.state.elder)
            return self._answer(record, outcome, INCOMING_STEP, ws_base)

    def menu_input(self, call_sid: str, step: int | None, digits: str | None,
                   intent: str | None, ws_base: str, from_number: str = "") -> str:
        """A key (or silence, or a spoken intent via REST redirect) at menu step ``step``.

        ``step`` None (absent or unparsable) means "where the caller is now". A lost session is
        rebuilt from the request, so the key still counts (0 still reaches a person).
        """
        with self.sessions.step(call_sid, step) as read:  # lock + reply + load: one trip
            if read.reply:
                return read.reply
            record = read.record
            if record is None:
                record, start = self._rebuild(call_sid, from_number)
                if isinstance(start.decision, Transfer):  # a known elder: straight to a person
                    return self._answer(record, start, None, ws_base)
                step = record.state.step
            if step is None:
                step = record.state.step
            if step != record.state.step:
                # A late or out-of-order request: repeat where the caller is, change nothing.
                return self._render(record, Outcome(record.state, self._current(record)),
                                    ws_base)
            outcome = handle_input(self.cfg, record.state, digits=digits, intent=intent)
            if outcome.remember:
                self.sessions.remember(record.caller_key, outcome.remember)
            return self._answer(record, outcome, step, ws_base)

    def call_ended(self, call_sid: str, status: str, duration: str | None) -> None:
        """Status callback: the caller is gone; take them out of the queue."""
        if self.queue is not None:
            self.queue.on_call_completed(call_sid)

        def mark_left(record: CallRecord) -> None:
            record.state = replace(record.state, left=True)

        self.sessions.update(call_sid, mark_left)
        log.info("call %s ended: %s after %ss", call_sid, status, duration or "?")

    def failsafe(self) -> str:
        """TwiML that needs neither Redis nor audio: a human, always.

        The ``<Enqueue>`` carries our wait and exit URLs, so once Redis answers again the wait
        poll puts the caller in front of the agents (``ensure_queued``).
        """
        c = self.holder.current
        sentence = text_for(c.menus.phrases.failsafe, c.service.dialects.default)
        return twiml.failsafe(sentence, c.service.twilio.queue_name, c.service.failsafe.dial,
                              self.urls.wait, self.urls.queue_exit)

    def ensure_queued(self, call_sid: str, from_number: str = "") -> bool:
        """A caller is in Twilio's queue (wait poll, reconciler): make sure agents see them.

        Re-creates a missing Redis entry from the session, or from the request when the session
        is gone too (e.g. the caller was queued by the failsafe during a Redis outage). True when
        an entry was created.
        """
        if self.queue is None or self.queue.get(call_sid) is not None:
            return False
        with self.sessions.locked(call_sid):
            if self.queue.get(call_sid) is not None:
                return False
            record = self.sessions.load(call_sid)
            if record is None:
                record, _ = self._rebuild(call_sid, from_number)
            elif record.state.left or record.bridged:
                return False  # hung up or with an agent: a late poll must not bring a ghost
            reason = record.state.transfer_reason or "recovered"
            record.state = replace(record.state, transferred=True, transfer_reason=reason)
            created = self._enqueue(record, Transfer(reason=reason), None)
            self.sessions.save(record)
        if created:
            metrics.RECOVERED.labels("wait").inc()
            log.warning("call %s was in Twilio's queue without a Redis entry; re-created",
                        call_sid)
        return created

    def transfer_now(self, call_sid: str, reason: str, ws_base: str,
                     before: tuple[str, ...] = (), priority: str | None = None,
                     context: dict[str, Any] | None = None, slow: bool = False,
                     from_number: str = "") -> str:
        """Put a live call in the human queue from outside the menu (speech, scam warning)."""
        with self.sessions.step(call_sid, None) as read:
            record = read.record
            if record is None:
                record, _ = self._rebuild(call_sid, from_number)
            if context:
                record.scam = context.get("scam", record.scam)
            state = replace(record.state, step=record.state.step + 1, transferred=True,
                            transfer_reason=reason)
            if slow and state.voice_mode == "normal":
                state = replace(state, voice_mode="elder")  # a warning is said slowly, calmly
            cfg = self.cfg
            said = before + (text_for(cfg.menus.phrases.transfer, state.dialect,
                                      cfg.service.dialects.default),)
            outcome = Outcome(state, Transfer(sentences=said, reason=reason))
            return self._answer(record, outcome, None, ws_base, priority=priority)

    def _rebuild(self, call_sid: str, from_number: str) -> tuple[CallRecord, Outcome]:
        """A call whose session is gone (TTL, Redis restart, failsafe): start it again from what
        the request tells (CallSid, caller number), without the greeting."""
        cfg = self.cfg
        key = caller_key(from_number, self.secret)
        try:
            prefs = self.sessions.preferences(key) if from_number else {}
        except Exception:  # memory is a nicety; a rebuilt call must not fail on it
            prefs = {}
        info = CallerInfo(
            known_elder=bool(from_number) and self.is_known_elder(from_number),
            remembered_dialect=prefs.get("dialect"),
            remembered_voice_mode=prefs.get("voice_mode"),
            prefix_dialect=dialect_for_number(cfg, from_number),
        )
        outcome = start_call(cfg, info)
        record = CallRecord(state=outcome.state, call_sid=call_sid, caller_key=key,
                            caller_masked=mask_number(from_number), from_number=from_number,
                            rebuilt=True)
        log.warning("call %s had no session; rebuilt from the request (caller %s)", call_sid,
                    record.caller_masked)
        metrics.RECOVERED.labels("session").inc()
        return record, outcome

    # ------------------------------------------------------------------ helpers
    def is_known_elder(self, number: str) -> bool:
        elders = self.holder.current.elders
        if number in elders.numbers:
            return True
        if not elders.lookup_hook or self.elder_lookup is None:
            return False
        return self.elder_lookup.is_elder(elders.lookup_hook, elders.hook_packages, number,
                                          elders.lookup_timeout_seconds)

    def voice_for(self, state: CallState) -> twiml.Voice:
        if self.voices is None:
            return lambda text: twiml.Speech(None, text)
        voices = self.voices

        def voice(text: str) -> twiml.Speech:
            p = voices.playable(text, state.dialect, state.voice_mode)
            return twiml.Speech(p.url, p.text)

        return voice

    def _current(self, record: CallRecord) -> Prompt:
        from ivr.flow.engine import menu_prompt

        return menu_prompt(self.cfg, record.state)

    def _answer(self, record: CallRecord, outcome: Outcome, reply_step: int | None,
                ws_base: str, priority: str | None = None) -> str:
        record.state = outcome.state
        body = self._render(record, outcome, ws_base, priority=priority)
        self.sessions.save(record, reply_step=reply_step, reply=body)
        return body

    def _render(self, record: CallRecord, outcome: Outcome, ws_base: str,
                priority: str | None = None) -> str:
        state, decision = outcome.state, outcome.decision
        stream, token = None, None
        if not record.stream_started and self.speech_enabled():
            # the media server admits this stream only for this call, until the expiry; the
            # cached document holds a mark where each call's own token goes
            token = make_token(self.secret, record.call_sid, time.time())
            stream = twiml.StreamSpec(
                url=_stream_url(ws_base, self.urls.media_path),
                parameters={"dialect": state.dialect, STREAM_TOKEN: TOKEN_MARK},
                name=SPEECH_STREAM_NAME,
            )
            record.stream_started = True
        if isinstance(decision, Transfer):
            self._enqueue(record, decision, priority)
        if not isinstance(decision, (Prompt, Transfer, Goodbye)):
            raise TypeError(decision)  # pragma: no cover
        # The document depends on the decision, the caller's dialect and voice mode, the config
        # and whether a stream starts here; the step number is filled in after the cache.
        key = (self.holder.current.version, type(decision).__name__, decision.sentences,
               getattr(decision, "timeout", None), state.dialect, state.voice_mode,
               stream.url if stream else None)
        body = self.twiml_cache.get(key)
        if body is None:
            body, cacheable = self._build(state, decision, stream)
            if cacheable:
                self.twiml_cache.put(key, body)
        body = body.replace(STEP_MARK, str(state.step))
        return body.replace(TOKEN_MARK, token) if token else body

    def _build(self, state: CallState, decision: Prompt | Transfer | Goodbye,
               stream: twiml.StreamSpec | None) -> tuple[str, bool]:
        """TwiML built with the twilio library; cacheable when every sentence had audio."""
        voice = self.voice_for(state)
        said: list[twiml.Speech] = []

        def tracked(text: str) -> twiml.Speech:
            speech = voice(text)
            said.append(speech)
            return speech

        if isinstance(decision, Prompt):
            action = f"{self.urls.menu}?step={STEP_MARK}"
            body = twiml.menu(decision.sentences, tracked, action, decision.timeout, stream)
        elif isinstance(decision, Transfer):
            c = self.holder.current.service
            body = twiml.enqueue(decision.sentences, tracked, c.twilio.queue_name,
                                 self.urls.wait, self.urls.queue_exit, stream)
        else:
            body = twiml.goodbye(decision.sentences, tracked)
        return body, all(s.url for s in said)

    def _enqueue(self, record: CallRecord, decision: Transfer, priority: str | None) -> bool:
        state = record.state
        prio = priority or ("scam" if record.scam else "elder" if state.elder else "normal")
        metrics.TRANSFERS.labels(decision.reason).inc()
        log.info("call %s to the human queue: reason=%s priority=%s", record.call_sid,
                 decision.reason, prio)
        if self.queue is None:
            return False
        from ivr.routing.queue import QueueEntry

        default = self.holder.current.service.dialects.default
        context = {
            "elder": state.elder,
            "elder_source": state.elder_source,
            "dialect": state.dialect,
            "reason": decision.reason,
            "topic": decision.topic,
            "menu_path": list(state.path),
            "caller_masked": record.caller_masked,
            "caller_key": record.caller_key,
            "scam": record.scam,
            "flags": list(record.flags),
            "transcript_excerpt": (record.scam or {}).get("excerpt", ""),
            "call_started_at": record.started_at,
        }
        entry = QueueEntry(call_sid=record.call_sid, priority=prio,
                           skill=state.dialect if state.dialect != default else None,
                           enqueued_at=time.time(), context=context)
        if self.queue.enqueue(entry):
            return True
        if priority:
            self.queue.raise_priority(record.call_sid, priority, context)
        return False


def _stream_url(ws_base: str, media_path: str) -> str:
    """``ws_base`` is the stream URL itself when it has a path, else the host to add it to."""
    from urllib.parse import urlsplit

    return ws_base if urlsplit(ws_base).path.strip("/") else ws_base.rstrip("/") + media_path
