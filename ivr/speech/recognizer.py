"""Offline speech recognition with Vosk: shared models and one streaming recognizer per caller.

Why it is shaped like this (after Alpha Cephei's vosk-server):
- a Vosk ``Model`` is large (60-250 MB) and slow to load (~2-3 s): one per model directory per
  process, shared by every call (``ModelPool``);
- a ``KaldiRecognizer`` is cheap and holds one call's decoding state: one per call and per mode
  (grammar-restricted for menus, free-form for the scam detector);
- audio is fed frame by frame as it arrives and endpointing is Vosk's own (``AcceptWaveform``
  returns True at the end of an utterance), so a decision can be made while the caller is on the
  line.

Vosk aborts the whole process (KaldiFatalError) if ``SetGrammar`` is called on a recognizer that
has accepted audio since its last reset, so grammar changes happen only between utterances,
after ``Reset()``. Who drives the recognizers: the media process (``ivr.media.server``) for live
calls, ``SpeechService`` (``ivr.speech.asr``) for files and benchmarks.
"""

from __future__ import annotations

import json
import logging
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
