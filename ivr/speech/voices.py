"""VoiceCatalog: which prompt audio exists, its URL, and rendering of what is missing.

A webhook must answer Twilio fast and never wait on synthesis, so ``playable`` only hashes the text
and checks the cache: a missing prompt gets ``url=None`` (the TwiML says the text with ``<Say>``)
and is queued for a background thread that feeds the renderer's worker processes.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ivr.config.voice_profiles import MODES, VoiceProfile, VoiceProfiles
from ivr.speech import voice_cache
from ivr.speech.numbers import chinese_number
from ivr.speech.tts import (
    Renderer,
    RenderReport,
    RenderResult,
    audio_seconds,
    chars_per_minute,
    count_hanzi,
    spoken_lines,
)

log = logging.getLogger(__name__)

AUDIO_URL_PREFIX = "/audio/"
RATES_FILE = "rates.json"  # measured chars/min per profile, written by `ivr render`
# A fixed menu-like Mandarin sentence: the speaking rate of every profile is measured on it.
RATE_SAMPLE = (
    "您好，欢迎致电客户服务热线。如需人工服务，请按零。查询账户余额，请按一。挂失银行卡，请按二。"
)
# Fixed pieces of queue prompts ("您前面还有 N 位", "预计等待 N 分钟"), rendered ahead with 0..99.
QUEUE_PHRASES = (
    "您前面还有", "位", "预计等待", "分钟", "秒", "小时", "请稍候", "正在为您转接人工服务",
)
MAX_SPOKEN_NUMBER = 99  # numbers rendered ahead; larger ones take the "long" wording
# Queue announcements per dialect, as pieces; "{n}" is a count said in Chinese (两, 十二...).
QUEUE_PIECES: dict[str, dict[str, tuple[str, ...]]] = {
    "mandarin": {
        "ahead": ("您前面还有", "{n}", "位。"),
        "next": ("下一位就是您。",),
        "many_ahead": ("您前面还有很多位。",),
        "estimate": ("预计等待", "{n}", "分钟。"),
        "estimate_long": ("预计等待一个多小时。",),
    },
    "cantonese": {
        "ahead": ("你前面仲有", "{n}", "位。"),
        "next": ("下一位就系你。",),
        "many_ahead": ("你前面仲有好多位。",),
        "estimate": ("估计要等", "{n}", "分钟。"),
        "estimate_long": ("估计要等一个几钟。",),
    },
}


def queue_pieces(name: str, dialect: str, n: int | None = None) -> list[str]:
    """One queue announcement as pieces that are all rendered ahead (numbers as digits, which
    ``playables_for`` reads as Chinese counts). Past MAX_SPOKEN_NUMBER: the "many"/"long" form."""
    table = QUEUE_PIECES.get(dialect) or QUEUE_PIECES["mandarin"]
    if n is not None and n > MAX_SPOKEN_NUMBER:
        name = {"ahead": "many_ahead", "estimate": "estimate_long"}.get(name, name)
    return [str(n) if piece == "{n}" else piece for piece in table[name]]


@dataclass(frozen=True)
class Playable:
    """What TwiML plays: ``<Play url>`` when rendered, else ``<Say>`` of ``text``."""

    url: str | None
    text: str


def fragment_texts(dialect: str | None = None) -> list[str]:
    """Texts rendered ahead for dynamic prompts: 0..99 (and 两) read in Chinese, fixed phrases,
    and the queue pieces of ``dialect`` (Mandarin's for a dialect without its own)."""
    numbers = {chinese_number(n) for n in range(MAX_SPOKEN_NUMBER + 1)}
    numbers |= {chinese_number(2, counting=True)}
    table = QUEUE_PIECES.get(dialect or "mandarin") or QUEUE_PIECES["mandarin"]
    pieces = [p for parts in table.values() for p in parts if p != "{n}"]
    return sorted(numbers) + list(dict.fromkeys([*QUEUE_PHRASES, *pieces]))


class VoiceCatalog:
    """Per-process catalogue of rendered prompts; one renderer (process pool) behind it."""

    def __init__(
        self,
        voices_dir: str | Path,
        profiles: VoiceProfiles,
        *,
        workers: int | None = 1,
        renderer: Renderer | None = None,
    ):
        self.voices_dir = Path(voices_dir)
        self.cache_dir = voice_cache.cache_dir(self.voices_dir)
        self.profiles = profiles
        # One worker by default: a web process renders only what `ivr render` has not.
        self.renderer = renderer or Renderer(self.cache_dir, workers=workers)
        self._pending: set[str] = set()
        self._durations: dict[str, float] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, VoiceProfile] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._rates = self._load_rates()

    # ------------------------------------------------------------ lookups (request path)

    def profile(self, dialect: str, mode: str) -> VoiceProfile:
        return self.profiles.profile(dialect, mode)

    def name_for(self, text: str, dialect: str, mode: str) -> str:
        return self.renderer.name_for(text, self.profile(dialect, mode))

    def playable(self, text: str, dialect: str, mode: str) -> Playable:
        """URL of the rendered prompt, or None after queueing it for a background render."""
        profile = self.profile(dialect, mode)
        name = self.renderer.name_for(text, profile)
        if self._exists(name):
            return Playable(AUDIO_URL_PREFIX + name, text)
        self._enqueue(text, profile, name)
        return Playable(None, text)

    def playables_for(self, parts: list[str], dialect: str, mode: str) -> list[Playable]:
        """A dynamic prompt as pieces; parts that are digits ("12") are spoken in Chinese.

        Counts read as counts (2 -> 两: "两位"). With fragments rendered ahead every piece has a
        URL; if any is None the caller should ``<Say>`` the joined texts instead."""
        out = []
        for part in parts:
            part = part.strip()
            if not part:
                continue
            text = chinese_number(int(part), counting=True) if part.isdigit() else part
            out.append(self.playable(text, dialect, mode))
        return out

    def path_for_name(self, name: str) -> Path | None:
        """The file behind ``/audio/<name>``; None for names we could not have produced."""
        if not voice_cache.is_valid_name(name):
            return None
        return self.cache_dir / name

    def speech_seconds(self, text: str, dialect: str, mode: str) -> float:
        """How long the prompt plays: the file's duration when rendered, else an estimate from
        the measured (or target) rate plus the pauses between lines."""
        profile = self.profile(dialect, mode)
        name = self.renderer.name_for(text, profile)
        if name in self._durations:
            return self._durations[name]
        if self._exists(name):
            seconds = audio_seconds(self.cache_dir / name)
            self._durations[name] = seconds
            return seconds
        cpm = self.rate_of(profile)
        chars = count_hanzi(text) + sum(ch.isascii() and ch.isalnum() for ch in text)
        pauses = max(0, len(spoken_lines(text)) - 1) * profile.pause_ms / 1000
        return chars * 60.0 / cpm + pauses

    def rate_of(self, profile: VoiceProfile) -> float:
        """Measured chars/min of a profile, or the middle of its target range if not measured."""
        measured = self._rates.get(self._rate_key(profile))
        return float(measured) if measured else sum(profile.target_cpm) / 2

    # ------------------------------------------------------------ rendering ahead

    def items_for(
        self, items: Iterable[tuple[str, str]], *, modes: Iterable[str] = MODES,
        fragments: bool = True,
    ) -> list[tuple[str, VoiceProfile]]:
        """(text, dialect) pairs -> (text, profile) for every mode, plus fragments per dialect."""
        pairs = list(items)
        modes = list(modes)
        if fragments:
            pairs += [(t, d) for d in self.profiles.dialects for t in fragment_texts(d)]
        return [(text, self.profile(dialect, mode)) for text, dialect in pairs for mode in modes]

    def render_all(
        self,
        items: Iterable[tuple[str, str]],
        progress: Callable[[RenderResult], None] | None = None,
        *,
        modes: Iterable[str] = MODES,
        fragments: bool = True,
    ) -> RenderReport:
        """Render every (text, dialect) in every mode (and the fragments); blocks until done."""
        jobs = self.items_for(items, modes=modes, fragments=fragments)
        return self.renderer.render_many(jobs, progress)

    def start_background(self, items: Iterable[tuple[str, str]], *, fragments: bool = True) -> None:
        """At service start: render what is missing without delaying start-up or any request."""
        for text, profile in self.items_for(items, fragments=fragments):
            self._enqueue(text, profile, self.renderer.name_for(text, profile))

    def measure_rates(self, text: str = RATE_SAMPLE) -> list[tuple[VoiceProfile, float]]:
        """Chars/min of every configured profile from the rendered sample's duration; saved so
        ``speech_seconds`` uses measured figures."""
        profiles = self.profiles.all_profiles()
        self.renderer.render_many([(text, p) for p in profiles])
        out = []
        for profile in profiles:
            path = self.renderer.path_for(text, profile)
            cpm = chars_per_minute(text, audio_seconds(path)) if path.exists() else 0.0
            out.append((profile, cpm))
            if cpm:
                self._rates[self._rate_key(profile)] = round(cpm, 1)
        self._save_rates()
        return out

    def pending_count(self) -> int:
        """Prompts queued or rendering in the background (for health checks and tests)."""
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None
        self.renderer.close()

    # ------------------------------------------------------------ internals

    def _exists(self, name: str) -> bool:
        # One stat (microseconds); not remembered, so a cleared cache is noticed at once.
        return (self.cache_dir / name).exists()

    def _enqueue(self, text: str, profile: VoiceProfile, name: str) -> None:
        with self._lock:
            if name in self._pending:
                return
            self._pending.add(name)
        self._queue.put((text, profile))
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._background, name="voice-render", daemon=True
                )
                self._thread.start()

    def _background(self) -> None:
        """Feed queued prompts to the worker processes (the pool is created here, off the
        request path); a finished file is playable from the next request on."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            text, profile = item
            name = self.renderer.name_for(text, profile)
            try:
                future = self.renderer.submit(text, profile)
            except Exception:  # noqa: BLE001 - keep serving <Say>; log and carry on
                log.exception("could not queue render of %s", name)
                self._done(name, None)
                continue
            future.add_done_callback(lambda f, n=name: self._done(n, f.result()))

    def _done(self, name: str, result: RenderResult | None) -> None:
        with self._lock:
            self._pending.discard(name)
        if result is not None and result.error:
            log.warning("background render of %s failed: %s", name, result.error)

    def _rate_key(self, profile: VoiceProfile) -> str:
        return json.dumps({**profile.audio_fields(), "engine": self.renderer.engine},
                          sort_keys=True)

    def _load_rates(self) -> dict[str, float]:
        try:
            return json.loads((self.cache_dir / RATES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_rates(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_dir / (RATES_FILE + ".tmp")
        tmp.write_text(json.dumps(self._rates, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.cache_dir / RATES_FILE)
