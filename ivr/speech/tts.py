"""Prompt renderer: espeak-ng (through pyttsx3's binding) -> 8 kHz mono mu-law WAV in the cache.

espeak-ng keeps global state and is not thread-safe, so synthesis runs in worker processes
('spawn' context: safe from threaded web servers), one engine per worker initialised once.
Files are written atomically (temp file + rename), so concurrent renderers and readers never see a
half-written prompt.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ivr.config.voice_profiles import VoiceProfile
from ivr.speech import codec, espeak_lib
from ivr.speech.voice_cache import engine_version, file_name

log = logging.getLogger(__name__)

ENGINE_RATE = 22050  # what pyttsx3's espeak driver writes
TARGET_RMS = 0.125  # active-speech RMS (about -18 dBFS) at volume 1.0
PEAK_LIMIT = 0.89  # about -1 dBFS, keeps mu-law from clipping
SILENCE_LEVEL = 0.01  # below this (|x|, full scale 1.0) a sample counts as silence
EDGE_MARGIN_S = 0.05  # silence kept before and after speech after trimming
LOWPASS_HZ = 3600.0  # telephone band; removes what would alias when going to 8 kHz
JOB_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RenderResult:
    """One prompt: where it is, whether this call synthesised it, and how long it plays."""

    path: Path
    rendered: bool
    audio_seconds: float = 0.0
    error: str | None = None


@dataclass
class RenderReport:
    """What a batch did; ``skipped`` counts prompts already in the cache (or duplicates)."""

    rendered: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.rendered + self.skipped + self.failed


# ---------------------------------------------------------------- audio processing (pure numpy)


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Drop leading/trailing silence (espeak adds some) so fragments join without gaps."""
    loud = np.flatnonzero(np.abs(samples) > SILENCE_LEVEL)
    if not loud.size:
        return samples[:0]
    margin = int(EDGE_MARGIN_S * rate)
    return samples[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def lowpass(samples: np.ndarray, rate: int, cutoff: float = LOWPASS_HZ, taps: int = 101):
    """Windowed-sinc FIR low-pass; the codec's linear resampler has no anti-alias filter."""
    if samples.size == 0 or cutoff >= rate / 2:
        return samples
    n = np.arange(taps) - (taps - 1) / 2
    kernel = np.sinc(2 * cutoff / rate * n) * np.hamming(taps)
    kernel /= kernel.sum()
    return np.convolve(samples, kernel, mode="same")


def normalise(samples: np.ndarray, rate: int, volume: float = 1.0) -> np.ndarray:
    """Scale active speech to TARGET_RMS * volume, never letting peaks pass PEAK_LIMIT."""
    if samples.size == 0:
        return samples
    frame = max(1, rate // 50)  # 20 ms
    usable = samples[: samples.size // frame * frame].reshape(-1, frame)
    rms_frames = np.sqrt(np.mean(usable**2, axis=1)) if usable.size else np.array([0.0])
    active = rms_frames[rms_frames > SILENCE_LEVEL]
    rms = float(np.sqrt(np.mean(active**2))) if active.size else 0.0
    peak = float(np.max(np.abs(samples)))
    if rms <= 0 or peak <= 0:
        return samples
    gain = min(TARGET_RMS * volume / rms, PEAK_LIMIT / peak)
    return samples * gain


def to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()


def telephone_ulaw(lines: list[np.ndarray], rate: int, pause_ms: int, volume: float) -> bytes:
    """Join spoken lines with pauses, band-limit, resample to 8 kHz, normalise, mu-law encode."""
    gap = np.zeros(int(rate * pause_ms / 1000))
    parts: list[np.ndarray] = []
    for i, line in enumerate(lines):
        if i:
            parts.append(gap)
        parts.append(trim_silence(line, rate))
    joined = np.concatenate(parts) if parts else np.zeros(0)
    pcm8k = codec.resample_pcm16(to_pcm16(lowpass(joined, rate)), rate, codec.TELEPHONE_RATE)
    level = normalise(to_float(pcm8k), codec.TELEPHONE_RATE, volume)
    return codec.pcm16_to_ulaw(to_pcm16(level))


def spoken_lines(text: str) -> list[str]:
    """A prompt's lines are spoken with the profile's pause between them (menu options)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- worker process side

_chunks: list[bytes] = []
_engine_ready = False
_engine_version = ""


def _worker_init() -> None:
    """Initialise espeak-ng once in this worker, in synchronous mode, through pyttsx3's binding.

    Why not ``pyttsx3.Engine.save_to_file`` + ``runAndWait``: pyttsx3 2.99 starts espeak-ng in
    AUDIO_OUTPUT_RETRIEVAL mode, where synthesis runs on espeak's own thread; ``runAndWait``
    returns before the file is written and a job can be synthesised with the previous job's rate
    or voice. Measured here: missing files on a process's first utterance, segfaults after it,
    and wrong durations whenever two renderers ran at the same time. Synchronous mode with our own
    callback makes each call complete, with its own settings, before it returns."""
    global _engine_ready
    if _engine_ready:
        return
    found = espeak_lib.engine()  # the system library, else the espeakng-loader wheel's
    if not found.usable:
        raise RuntimeError(f"{found.problem}; to render prompts: {espeak_lib.INSTALL_HINT}")
    from pyttsx3.drivers import _espeak

    rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000,
                              espeak_lib.initialize_path(found))
    if rate == -1:
        raise RuntimeError(f"could not initialise espeak-ng ({found.describe()})")
    if rate != ENGINE_RATE:
        raise RuntimeError(f"espeak-ng runs at {rate} Hz, expected {ENGINE_RATE}")
    _espeak.SetSynthCallback(_on_synth)
    global _engine_version
    _engine_version = (_espeak.Info(None) or b"").decode(errors="replace")
    _engine_ready = True


def _on_synth(wav, numsamples: int, events) -> int:
    if numsamples > 0:
        _chunks.append(ctypes.string_at(wav, numsamples * 2))
    return 0  # 0 = continue


def _synth_line(text: str, voice: str, rate: int) -> np.ndarray:
    """One line of text as float samples at ENGINE_RATE (22.05 kHz)."""
    from pyttsx3.drivers import _espeak

    if not _engine_ready:
        raise RuntimeError("worker not initialised")
    if _espeak.SetVoiceByName(voice.encode("utf-8")) != _espeak.EE_OK:
        raise ValueError(f"espeak-ng has no voice {voice!r}")
    _espeak.SetParameter(_espeak.RATE, espeak_lib.rate_for(_engine_version, voice, rate), 0)
    _espeak.SetParameter(_espeak.VOLUME, 100, 0)  # full scale; level is set by normalise()
    _chunks.clear()
    status = _espeak.Synth(text, flags=_espeak.CHARS_UTF8 | _espeak.ENDPAUSE)
    if status != _espeak.EE_OK:
        raise RuntimeError(f"espeak-ng Synth failed with status {status}")
    pcm = b"".join(_chunks)
    _chunks.clear()
    if not pcm:
        raise RuntimeError("espeak-ng produced no audio")
    return to_float(pcm)


def render_to_file(text: str, profile: VoiceProfile, path: str) -> float:
    """Synthesise ``text`` into ``path`` (atomically); returns the audio's length in seconds.

    Runs inside a worker process (or any process that called ``_worker_init``)."""
    lines = [_synth_line(line, profile.voice, profile.rate) for line in spoken_lines(text)]
    ulaw = telephone_ulaw(lines, ENGINE_RATE, profile.pause_ms, profile.volume)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".wav")
    os.close(fd)
    try:
        codec.write_ulaw_wav(tmp, ulaw)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return len(ulaw) / codec.TELEPHONE_RATE


def _job(text: str, profile: VoiceProfile, path: str) -> RenderResult:
    if os.path.exists(path):  # another process got there first
        return RenderResult(Path(path), rendered=False)
    seconds = render_to_file(text, profile, path)
    return RenderResult(Path(path), rendered=True, audio_seconds=seconds)


# ---------------------------------------------------------------- parent process side


class Renderer:
    """Renders prompts into ``cache_dir`` with a process pool created on first use.

    ``rendered`` / ``skipped`` / ``failed`` count what this object did over its life (tests and
    benchmarks read them)."""

    def __init__(self, cache_dir: str | Path, workers: int | None = None, context: str = "spawn"):
        self.cache_dir = Path(cache_dir)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._context = context
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.engine = engine_version()
        self.rendered = 0
        self.skipped = 0
        self.failed = 0

    def name_for(self, text: str, profile: VoiceProfile) -> str:
        return file_name(text, profile, self.engine)

    def path_for(self, text: str, profile: VoiceProfile) -> Path:
        return self.cache_dir / self.name_for(text, profile)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                ctx = multiprocessing.get_context(self._context)
                self._pool = ProcessPoolExecutor(self.workers, ctx, initializer=_worker_init)
            return self._pool

    def submit(self, text: str, profile: VoiceProfile) -> Future[RenderResult]:
        """Render unless cached; the future resolves to a RenderResult (never raises)."""
        path = self.path_for(text, profile)
        if path.exists() or not spoken_lines(text):
            self._count("skipped")
            done: Future[RenderResult] = Future()
            done.set_result(RenderResult(path, rendered=False))
            return done
        found = espeak_lib.engine()
        if not found.usable:  # say why once per prompt, without starting workers that would die
            self._count("failed")
            failed: Future[RenderResult] = Future()
            failed.set_result(RenderResult(path, rendered=False, error=(
                f"{found.problem}; to render prompts: {espeak_lib.INSTALL_HINT}")))
            return failed
        try:
            inner = self._executor().submit(_job, text, profile, str(path))
        except BrokenProcessPool:  # a worker died (engine crash): start a fresh pool
            self._reset_pool()
            inner = self._executor().submit(_job, text, profile, str(path))
        outer: Future[RenderResult] = Future()
        inner.add_done_callback(lambda f: self._finish(f, outer, path))
        return outer

    def _finish(self, inner: Future, outer: Future, path: Path) -> None:
        try:
            result = inner.result()
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the caller
            log.warning("render failed for %s: %s", path.name, exc)
            result = RenderResult(path, rendered=False, error=f"{type(exc).__name__}: {exc}")
            if isinstance(exc, BrokenProcessPool):
                self._reset_pool()
        self._count("failed" if result.error else "rendered" if result.rendered else "skipped")
        outer.set_result(result)

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def _reset_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def render_many(
        self,
        items: Iterable[tuple[str, VoiceProfile]],
        progress: Callable[[RenderResult], None] | None = None,
    ) -> RenderReport:
        """Render a batch in parallel, each distinct file once; blocks until all are done."""
        started = time.perf_counter()
        report = RenderReport()
        seen: set[Path] = set()
        futures: list[Future[RenderResult]] = []
        for text, profile in items:
            path = self.path_for(text, profile)
            if path in seen:  # e.g. sichuanese sharing mandarin's voice: same file
                report.skipped += 1
                continue
            seen.add(path)
            futures.append(self.submit(text, profile))
        for fut in futures:
            try:
                result = fut.result(timeout=JOB_TIMEOUT_S)
            except TimeoutError:
                result = RenderResult(Path("?"), rendered=False, error="timed out")
            if result.error:
                report.failed += 1
                report.errors.append(f"{result.path.name}: {result.error}")
            elif result.rendered:
                report.rendered += 1
            else:
                report.skipped += 1
            if progress:
                progress(result)
        report.seconds = time.perf_counter() - started
        return report

    def warm_up(self) -> None:
        """Start every worker now (spawn + engine init) so the first batch is not slowed."""
        pool = self._executor()
        list(pool.map(_noop, range(self.workers)))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _noop(_: int) -> None:
    time.sleep(0.05)  # long enough that each worker gets one


def chars_per_minute(text: str, audio_seconds: float) -> float:
    """Speaking rate as callers feel it: Chinese characters per minute of audio."""
    return count_hanzi(text) * 60.0 / audio_seconds if audio_seconds > 0 else 0.0


def count_hanzi(text: str) -> int:
    return sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")


def audio_seconds(path: str | Path) -> float:
    return codec.wav_duration_seconds(Path(path).read_bytes())
