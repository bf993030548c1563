"""Offline speech recognition with Vosk: shared models, one streaming recognizer per call.

Why it is shaped like this (after Alpha Cephei's vosk-server):
- a Vosk ``Model`` is large (60-250 MB) and slow to load (~2-3 s): one per model directory per
  process, shared by every call (``ModelPool``);
- a ``KaldiRecognizer`` is cheap and holds one call's decoding state: one per call and per mode
  (grammar-restricted for menus, free-form for the scam detector);
- audio is fed frame by frame as it arrives and endpointing is Vosk's own (``AcceptWaveform``
  returns True at the end of an utterance), so a decision can be made while the caller is on the
  line;
- decoding runs on a per-call worker thread behind a bounded queue, never on the WebSocket
  thread; cffi releases the GIL while Kaldi decodes, so calls use every core. A decoder that
  cannot keep up drops frames and counts them rather than letting latency grow without bound.

Vosk aborts the whole process (KaldiFatalError) if ``SetGrammar`` is called on a recognizer that
has accepted audio since its last reset, so grammar changes happen only between utterances,
after ``Reset()``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter

from ivr.speech import codec

log = logging.getLogger(__name__)

MODEL_RATE = 16000  # Vosk small models are trained at 16 kHz; upsampling 8 kHz here measured best
UNK = "[unk]"

FRAMES_DROPPED = Counter(
    "ivr_speech_frames_dropped_total", "Audio frames dropped because a decoder fell behind"
)
UTTERANCES = Counter(
    "ivr_speech_utterances_total", "Final utterances recognised", ["restricted"]
)

Sink = Callable[[str, str, bool, bool], None]  # (call_sid, text, final, restricted)
GrammarFor = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class Transcript:
    """A recognition result: ``final`` ones end an utterance, partial ones may still change."""

    text: str
    final: bool


class ModelPool:
    """One ``vosk.Model`` per model directory per process, loaded lazily and thread-safely."""

    def __init__(self) -> None:
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, model_dir: str | Path):
        """The loaded model for ``model_dir``; the first caller loads it, the others wait."""
        key = str(Path(model_dir).resolve())
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                return model
            dir_lock = self._loading.setdefault(key, threading.Lock())
        with dir_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            model = _load_model(key)
            with self._lock:
                self._models[key] = model
            return model

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)


def _load_model(path: str):
    import vosk

    if not Path(path).is_dir():
        raise FileNotFoundError(f"no Vosk model directory at {path}")
    vosk.SetLogLevel(-1)
    started = time.monotonic()
    model = vosk.Model(path)  # always a path: Model() without one would try to download
    log.info("loaded Vosk model %s in %.1f s", path, time.monotonic() - started)
    return model


POOL = ModelPool()


def fit_grammar(model, phrases: Iterable[str]) -> list[str]:
    """Phrases rewritten as space-separated words the model knows; others are dropped.

    Vosk silently skips grammar words missing from the model's vocabulary, so an unsegmented
    Chinese phrase ("我要人工") would vanish. Each token that is not a known word is split by
    greedy longest match over the vocabulary ("我要 人工"); a phrase that cannot be covered is
    dropped (logged at debug). ``[unk]`` is kept only if the model has it.
    """
    out: list[str] = []
    for phrase in phrases:
        words: list[str] = []
        for token in phrase.split():
            seg = [token] if _known(model, token) else _segment(model, token)
            if seg is None:
                words = []
                break
            words.extend(seg)
        if words:
            fitted = " ".join(words)
            if fitted not in out:
                out.append(fitted)
        elif phrase.strip() and phrase.strip() != UNK:
            log.debug("grammar phrase not in model vocabulary, dropped: %r", phrase)
    return out


def _known(model, word: str) -> bool:
    return model.vosk_model_find_word(word) >= 0


def _segment(model, token: str, max_len: int = 8) -> list[str] | None:
    words, i = [], 0
    while i < len(token):
        for j in range(min(len(token), i + max_len), i, -1):
            if _known(model, token[i:j]):
                words.append(token[i:j])
                i = j
                break
        else:
            return None
    return words


class StreamRecognizer:
    """One call's recognizer: 20 ms 8 kHz mu-law frames in, partial and final transcripts out.

    ``grammar`` None means free-form decoding; a list restricts decoding to those phrases.
    Not thread-safe: one thread feeds it (the call's worker).
    """

    def __init__(self, model, grammar: Sequence[str] | None = None, sample_rate: int = MODEL_RATE,
                 stale_final_s: float = 1.5):
        self.model = model
        self.sample_rate = sample_rate
        # Backstop for Vosk's endpointing: a partial unchanged this long is closed as final (seen
        # with a grammar word loop absorbing digital silence, which delayed the final by seconds).
        self.stale_final_frames = int(stale_final_s * 1000 / codec.FRAME_MS) if stale_final_s else 0
        self._stale = 0
        self.grammar: tuple[str, ...] | None = None
        self._rec = None
        self._partial = ""
        self._dirty = False  # audio accepted since the last reset/final
        self._build(grammar)

    def _build(self, grammar: Sequence[str] | None) -> None:
        import vosk

        if grammar is None:
            self._rec = vosk.KaldiRecognizer(self.model, self.sample_rate)
            self.grammar = None
        else:
            fitted = fit_grammar(self.model, grammar)
            if not fitted:
                raise ValueError("no grammar phrase is in the model's vocabulary")
            self._rec = vosk.KaldiRecognizer(
                self.model, self.sample_rate, json.dumps(fitted, ensure_ascii=False)
            )
            self.grammar = tuple(grammar)
        self._partial = ""
        self._dirty = False

    @property
    def in_utterance(self) -> bool:
        """True while words have been heard that no final result has closed yet."""
        return bool(self._partial)

    def set_grammar(self, phrases: Sequence[str] | None) -> bool:
        """Switch grammar between utterances; returns False (no change) mid-utterance.

        Rebuilding the recognizer is safe in every Vosk state and costs ~1 ms for a menu-sized
        grammar, unlike ``SetGrammar`` which aborts the process on a running recognizer.
        """
        new = None if phrases is None else tuple(phrases)
        if new == self.grammar:
            return True
        if self.in_utterance:
            return False
        self._build(new)
        return True

    def accept_ulaw(self, frame: bytes) -> Transcript | None:
        """Feed 8 kHz mu-law: a final transcript at an endpoint, a changed partial, or None."""
        return self.accept_pcm8k(codec.ulaw_to_pcm16(frame))

    def accept_pcm8k(self, pcm: bytes) -> Transcript | None:
        """Feed 8 kHz 16-bit PCM (upsampled here to the recognizer's rate)."""
        return self.accept_pcm(codec.resample_pcm16(pcm, codec.TELEPHONE_RATE, self.sample_rate))

    def accept_pcm(self, pcm: bytes) -> Transcript | None:
        """Feed PCM already at ``sample_rate``."""
        self._dirty = True
        if self._rec.AcceptWaveform(pcm):
            text = _text(self._rec.Result(), "text")
            self._partial = ""
            self._dirty = False
            return Transcript(text, True) if text else None
        partial = _text(self._rec.PartialResult(), "partial")
        if partial != self._partial:
            self._partial = partial
            self._stale = 0
            if partial:
                return Transcript(partial, False)
        elif partial and self.stale_final_frames:
            self._stale += 1
            if self._stale >= self.stale_final_frames:
                return self.finish()
        return None

    def finish(self) -> Transcript | None:
        """Close the current utterance (end of call or stream): its final text, if any."""
        text = _text(self._rec.FinalResult(), "text") if self._dirty else ""
        self._partial = ""
        self._dirty = False
        self._stale = 0
        return Transcript(text, True) if text else None


def _text(result_json: str, key: str) -> str:
    try:
        return str(json.loads(result_json).get(key, "")).strip()
    except (ValueError, AttributeError):
        return ""


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
        self.sink = sink
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
