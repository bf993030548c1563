"""Speech sessions on worker threads: ``SpeechService.open(call_sid, sink)`` feeds one call's
audio to its recognizers (``ivr.speech.recognizer``) on per-call worker threads.

Why: decoding runs on a per-call worker thread behind a bounded queue, never on the thread that
receives audio; cffi releases the GIL while Kaldi decodes, so calls use every core. A decoder that
cannot keep up drops frames and counts them rather than letting latency grow without bound. What
the lanes recognise goes to the sink through a ``SinkWorker``, so a slow sink never stalls them.
``ivr transcribe`` and the ASR benchmark use it; live calls are decoded by the media process
(``ivr.media.server``), which also owns the model choice per dialect through this service.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ivr.speech import codec
from ivr.speech.recognizer import (
    FRAMES_DROPPED,
    POOL,
    UTTERANCES,
    GrammarFor,
    ModelPool,
    Sink,
    StreamRecognizer,
    Transcript,
)
from ivr.speech.sink_worker import SinkWorker

log = logging.getLogger(__name__)


_STOP = object()


class _Lane:
    """One recognizer on its own worker thread behind a bounded frame queue."""

    def __init__(
        self,
        session: CallSession,
        recognizer: StreamRecognizer | None,
        restricted: bool,
        queue_frames: int,
        grammar_for: GrammarFor | None,
        grammar_poll_s: float,
    ):
        self.session = session
        self.recognizer = recognizer
        self.restricted = restricted
        self.grammar_for = grammar_for
        self.grammar_poll_s = grammar_poll_s
        self.queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self.dropped = 0
        self.decoded = 0
        self.finals = 0
        self._next_poll = 0.0
        kind = "grammar" if restricted else "free"
        self.thread = threading.Thread(
            target=self._run, name=f"asr-{kind}-{session.call_sid[-6:]}", daemon=True
        )
        self.thread.start()

    def put(self, pcm: bytes, block: bool) -> None:
        try:
            self.queue.put(pcm, block=block)
        except queue.Full:
            self.dropped += 1
            FRAMES_DROPPED.inc()

    def stop(self, wait: float | None) -> None:
        try:
            self.queue.put(_STOP, timeout=wait)  # waits only while the worker drains the queue
        except queue.Full:
            log.warning("decoder of %s did not drain in time", self.session.call_sid)

    def _refresh_grammar(self, force: bool) -> None:
        """Ask the flow for the current menu's phrases, but only between utterances."""
        if self.grammar_for is None:
            return
        rec = self.recognizer
        if rec is not None and rec.in_utterance:
            return
        now = time.monotonic()
        if not force and now < self._next_poll:
            return
        self._next_poll = now + self.grammar_poll_s
        try:
            phrases = self.grammar_for(self.session.call_sid)
        except Exception:  # the flow's bug must not kill the call's audio
            log.exception("grammar_for failed for %s", self.session.call_sid)
            return
        phrases = list(phrases) if phrases else None
        try:
            if phrases is None:
                self.recognizer = None  # nothing to listen for in this state: skip decoding
            elif rec is None:
                self.recognizer = StreamRecognizer(self.session.model, phrases)
            else:
                rec.set_grammar(phrases)
        except ValueError as exc:
            log.warning("grammar for %s unusable (%s); restricted recognition paused",
                        self.session.call_sid, exc)
            self.recognizer = None

    def _emit(self, result: Transcript | None) -> None:
        if result is None:
            return
        if result.final:
            self.finals += 1
            UTTERANCES.labels(restricted=str(self.restricted).lower()).inc()
        try:
            self.session.sink(self.session.call_sid, result.text, result.final, self.restricted)
        except Exception:  # a sink error must not stop recognition for the rest of the call
            log.exception("speech sink failed for %s", self.session.call_sid)

    def _run(self) -> None:
        self._refresh_grammar(force=True)
        while True:
            item = self.queue.get()
            if item is _STOP:
                break
            rec = self.recognizer
            try:
                if rec is not None:
                    result = rec.accept_pcm8k(item)
                    self.decoded += 1
                    self._emit(result)
                    if result is not None and result.final:
                        self._refresh_grammar(force=True)
                        continue
                self._refresh_grammar(force=False)
            except Exception:  # keep draining: a decoder error must not wedge the socket
                log.exception("decoding failed for %s", self.session.call_sid)
        if self.recognizer is not None:
            self._emit(self.recognizer.finish())


class CallSession:
    """The recognizers of one call; ``feed`` is called from the socket thread and never blocks."""

    def __init__(
        self,
        call_sid: str,
        model,
        sink: Sink,
        grammar_for: GrammarFor | None,
        free_form: bool,
        queue_frames: int,
        grammar_poll_s: float,
    ):
        self.call_sid = call_sid
        self.model = model
        # the lanes' decoders only queue results; the sink runs on its own worker, in order
        self.sink = SinkWorker(sink, workers=1, name=f"speech-sink-{call_sid[-6:]}")
        self.started = time.monotonic()
        self.frames_in = 0
        self.lanes: list[_Lane] = []
        if grammar_for is not None:
            self.lanes.append(_Lane(self, None, True, queue_frames, grammar_for, grammar_poll_s))
        if free_form or grammar_for is None:
            rec = StreamRecognizer(model, None)
            self.lanes.append(_Lane(self, rec, False, queue_frames, None, grammar_poll_s))
        self._closed = False

    def feed(self, ulaw: bytes, block: bool = False) -> None:
        """Queue 8 kHz mu-law audio (any whole number of 20 ms frames) for every recognizer.

        ``block=False`` (live calls) drops and counts frames a lane cannot take; ``block=True``
        (files, benchmarks) waits instead.
        """
        if self._closed:
            return
        for i in range(0, len(ulaw), codec.FRAME_BYTES):
            pcm = codec.ulaw_to_pcm16(ulaw[i : i + codec.FRAME_BYTES])
            self.frames_in += 1
            for lane in self.lanes:
                lane.put(pcm, block)

    @property
    def dropped(self) -> int:
        return sum(lane.dropped for lane in self.lanes)

    def close(self, wait: float | None = 5.0) -> None:
        """Flush each recognizer's last utterance to the sink and end its worker."""
        if self._closed:
            return
        self._closed = True
        for lane in self.lanes:
            lane.stop(wait)
        for lane in self.lanes:
            lane.thread.join(wait)
        self.sink.close(wait)  # every result handed to the sink before close returns


@dataclass
class SpeechStats:
    """Plain counters for health pages and tests (Prometheus has the process-wide ones)."""

    sessions_opened: int = 0
    sessions_active: int = 0
    frames_dropped: int = 0


class SpeechService:
    """Per-process speech: dialect -> model directory, sessions per call.

    ``enabled`` is False when no configured model directory exists: the app then runs on DTMF
    alone and the socket only drains audio. Dialects without their own model use
    ``default_dialect``'s model (there are no Cantonese or Sichuanese Vosk models).
    """

    def __init__(
        self,
        models: dict[str, str | Path],
        grammar_for: GrammarFor | None = None,
        free_form: bool = False,
        default_dialect: str = "mandarin",
        pool: ModelPool | None = None,
        queue_frames: int = 250,
        grammar_poll_s: float = 0.5,
    ):
        self.pool = pool or POOL
        self.grammar_for = grammar_for
        self.free_form = free_form
        self.queue_frames = queue_frames
        self.grammar_poll_s = grammar_poll_s
        self.stats = SpeechStats()
        self._lock = threading.Lock()
        self._sessions: dict[str, CallSession] = {}
        self.models = {d: Path(p) for d, p in models.items() if p and Path(p).is_dir()}
        missing = sorted(set(models) - set(self.models))
        self.default_dialect = (
            default_dialect if default_dialect in self.models else next(iter(self.models), "")
        )
        self.enabled = bool(self.models)
        if not self.enabled:
            log.warning(
                "speech recognition disabled: no Vosk model found (%s); calls use DTMF only. "
                "Run `ivr models fetch` to install vosk-model-small-cn-0.22.",
                ", ".join(f"{d}={models[d]}" for d in sorted(models)) or "none configured",
            )
        elif missing:
            log.info("no own model for %s; using the %s model", ", ".join(missing),
                     self.default_dialect)

    def model_dir(self, dialect: str | None) -> Path | None:
        if not self.enabled:
            return None
        return self.models.get(dialect or "", self.models[self.default_dialect])

    def warm(self) -> None:
        """Load every configured model now (at startup) instead of on the first call."""
        for path in set(self.models.values()):
            self.pool.get(path)

    def loaded(self) -> bool:
        """For /healthz: every configured model is in memory."""
        have = set(self.pool.loaded())
        return self.enabled and all(str(p.resolve()) in have for p in self.models.values())

    def open(
        self,
        call_sid: str,
        sink: Sink,
        dialect: str | None = None,
        free_form: bool | None = None,
        grammar_for: GrammarFor | None = None,
    ) -> CallSession | None:
        """Start recognising one call; None when speech is disabled.

        ``grammar_for(call_sid)`` is asked for the current menu's phrases at each utterance
        start, so a menu change applies to the next utterance; None pauses the restricted
        recognizer. ``free_form`` adds an unrestricted recognizer (for the scam detector).
        """
        path = self.model_dir(dialect)
        if path is None:
            return None
        session = CallSession(
            call_sid,
            self.pool.get(path),
            sink,
            grammar_for or self.grammar_for,
            self.free_form if free_form is None else free_form,
            self.queue_frames,
            self.grammar_poll_s,
        )
        with self._lock:
            old = self._sessions.pop(call_sid, None)
            self._sessions[call_sid] = session
            self.stats.sessions_opened += 1
            self.stats.sessions_active = len(self._sessions)
        if old is not None:  # Twilio restarted the stream for this call
            self._finish(old)
        return session

    def close(self, session: CallSession) -> None:
        with self._lock:
            if self._sessions.get(session.call_sid) is session:
                del self._sessions[session.call_sid]
            self.stats.sessions_active = len(self._sessions)
        self._finish(session)

    def _finish(self, session: CallSession) -> None:
        session.close()
        with self._lock:
            self.stats.frames_dropped += session.dropped
