"""One call's audio in the media process, and the process's plain counters.

``CallStream`` keeps the per-call work off the event loop: the voice gate runs on the loop thread,
the recognizers on the server's decoder pool with at most one job per call in flight, and what
they recognise goes to the server's sink (a ``SinkWorker``), so neither the loop nor a decoder
ever waits on Redis or REST.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Counter

from ivr.speech import codec
from ivr.speech.recognizer import (
    FRAMES_DROPPED,
    UTTERANCES,
    GrammarFor,
    Sink,
    StreamRecognizer,
    Transcript,
)
from ivr.speech.vad import END, VoiceGate

log = logging.getLogger(__name__)

MEDIA_MALFORMED = Counter(
    "ivr_media_malformed_total", "Media Streams messages skipped as malformed", ["reason"]
)
FRAMES_GATED = Counter("ivr_media_frames_total", "Inbound audio frames", ["decoded"])


@dataclass
class MediaStats:
    """Process-wide counters (plain, for tests and the media /healthz; Prometheus has them too)."""

    connections: int = 0
    active: int = 0
    rejected: int = 0
    frames: int = 0
    frames_decoded: int = 0
    frames_dropped: int = 0
    utterances: int = 0
    grammar_loads: int = 0
    sessions_active: int = 0
    malformed: Tally = field(default_factory=Tally)
    refused: Tally = field(default_factory=Tally)  # streams refused at ``start``, by reason
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_malformed(self, reason: str) -> None:
        with self._lock:
            self.malformed[reason] += 1
        MEDIA_MALFORMED.labels(reason=reason).inc()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {k: (dict(v) if isinstance(v, Tally) else v) for k, v in self.__dict__.items()
                    if not k.startswith("_")}


class StreamHost(Protocol):
    """What a CallStream uses of its server (``ivr.media.server.MediaServer``)."""

    executor: Executor
    queue_frames: int
    stats: MediaStats
    sink: Sink
    grammar_for: GrammarFor | None
    config_version: Callable[[], str | None]
    classifier_factory: Callable[[], Callable[[bytes], bool]]


class CallStream:
    """One call's audio: gate on the loop thread, recognizers on pool threads (one job at a time).

    ``pending`` is touched only on the loop thread; the recognizers only inside ``_decode`` (one
    job in flight per call), so neither needs a lock.
    """

    def __init__(self, server: StreamHost, call_sid: str, model: Any, free_form: bool):
        self.server = server
        self.call_sid = call_sid
        self.model = model
        self.free_form = free_form
        self.gate = VoiceGate(server.classifier_factory())
        self.pending: list[bytes] = []
        self.busy = False
        self.dropped = 0
        self.grammar_dirty = True  # set from any thread; read between utterances
        self.config_version: str | None = None
        self.restricted: StreamRecognizer | None = None
        self.free: StreamRecognizer | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    # ---------------------------------------------------------------- loop thread
    def feed(self, ulaw: bytes) -> None:
        if self.model is None:
            return
        for i in range(0, len(ulaw), codec.FRAME_BYTES):
            self._queue(self.gate.push(codec.ulaw_to_pcm16(ulaw[i : i + codec.FRAME_BYTES])))
        self._kick()

    def _queue(self, frames: list[bytes]) -> None:
        room = self.server.queue_frames - len(self.pending)
        if len(frames) > room:
            # Backpressure: the pool is behind. Drop audio (counted), but never an END marker,
            # so the utterance still gets closed.
            lost = [f for f in frames[max(room, 0):] if f is not END]
            self.dropped += len(lost)
            self.server.stats.add("frames_dropped", len(lost))
            FRAMES_DROPPED.inc(len(lost))
            frames = frames[: max(room, 0)] + [f for f in frames[max(room, 0):] if f is END]
        self.pending.extend(frames)

    def finish(self) -> None:
        if self.model is not None:
            self._queue(self.gate.flush())
            self._kick()

    def _kick(self) -> None:
        if self.busy or not self.pending:
            return
        batch, self.pending = self.pending, []
        self.busy = True
        self.idle.clear()
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self.server.executor, self._decode, batch)
        fut.add_done_callback(self._done)

    def _done(self, fut: asyncio.Future) -> None:
        self.busy = False
        if fut.exception() is not None:
            log.error("decoding failed for %s", self.call_sid, exc_info=fut.exception())
        if self.pending:
            self._kick()
        else:
            self.idle.set()

    # ---------------------------------------------------------------- pool thread
    def _decode(self, batch: list[bytes]) -> None:
        decoded = 0
        for pcm in batch:
            if pcm is END:
                self._close_utterance()
                continue
            self._maybe_refresh_grammar()
            if self.free_form and self.free is None:
                self.free = StreamRecognizer(self.model, None)
            for rec, restricted in ((self.restricted, True), (self.free, False)):
                if rec is not None:
                    self._emit(rec.accept_pcm8k(pcm), restricted)
            decoded += 1
        if decoded:
            self.server.stats.add("frames_decoded", decoded)
            FRAMES_GATED.labels(decoded="true").inc(decoded)

    def _close_utterance(self) -> None:
        for rec, restricted in ((self.restricted, True), (self.free, False)):
            if rec is not None:
                self._emit(rec.finish(), restricted)
        self._maybe_refresh_grammar()

    def _maybe_refresh_grammar(self) -> None:
        version = self.server.config_version()
        if version != self.config_version:
            self.config_version = version
            self.grammar_dirty = True
        if not self.grammar_dirty:
            return
        if self.restricted is not None and self.restricted.in_utterance:
            return  # Vosk cannot change grammar mid-utterance; the next one gets it
        self.grammar_dirty = False
        if self.server.grammar_for is None:
            return
        self.server.stats.add("grammar_loads")
        try:
            phrases = self.server.grammar_for(self.call_sid)
        except Exception:  # the flow's bug or a Redis blip must not kill the call's audio
            log.exception("grammar lookup failed for %s", self.call_sid)
            self.grammar_dirty = True
            return
        try:
            if not phrases:
                self.restricted = None  # nothing to listen for in this state
            elif self.restricted is None:
                self.restricted = StreamRecognizer(self.model, list(phrases))
            else:
                self.restricted.set_grammar(list(phrases))
        except ValueError as exc:
            log.warning("grammar for %s unusable (%s); restricted recognition paused",
                        self.call_sid, exc)
            self.restricted = None

    def _emit(self, result: Transcript | None, restricted: bool) -> None:
        if result is None:
            return
        if result.final:
            self.server.stats.add("utterances")
            UTTERANCES.labels(restricted=str(restricted).lower()).inc()
        try:
            self.server.sink(self.call_sid, result.text, result.final, restricted)
        except Exception:  # a sink error must not stop recognition for the rest of the call
            log.exception("speech sink failed for %s", self.call_sid)
