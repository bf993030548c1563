"""Audio the stand-in handles: <Play> files it must accept like Twilio, <Say> rendered with
espeak-ng, and the caller's own audio (WAV clips) laid on a timeline for Media Streams."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from ivr.speech.codec import (
    FRAME_BYTES,
    FRAME_MS,
    TELEPHONE_RATE,
    read_wav_mono16,
    to_telephone_ulaw,
    wav_duration_seconds,
)

ULAW_SILENCE = b"\xff"

_MP3_BITRATES = {  # MPEG-1 Layer III, kbit/s by index
    1: 32, 2: 40, 3: 48, 4: 56, 5: 64, 6: 80, 7: 96, 8: 112, 9: 128, 10: 160, 11: 192,
    12: 224, 13: 256, 14: 320,
}
_MP3_BITRATES_V2 = {  # MPEG-2/2.5 Layer III
    1: 8, 2: 16, 3: 24, 4: 32, 5: 40, 6: 48, 7: 56, 8: 64, 9: 80, 10: 96, 11: 112, 12: 128,
    13: 144, 14: 160,
}


class BadAudio(ValueError):
    """A <Play> URL that Twilio could not play (error 12300-style)."""


def audio_duration(data: bytes, content_type: str = "") -> float:
    """Seconds of a WAV (PCM or mu-law) or MP3 file; raises BadAudio for anything else."""
    if content_type in ("audio/basic", "audio/x-mulaw", "audio/ulaw") and data:
        return len(data) / TELEPHONE_RATE  # headerless 8 kHz mu-law
    if data[:4] == b"RIFF":
        try:
            return wav_duration_seconds(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure means "not playable"
            raise BadAudio(f"broken WAV: {exc}") from exc
    if data[:3] == b"ID3" or (len(data) > 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return _mp3_duration(data)
    kind = content_type or "unknown type"
    raise BadAudio(f"not WAV or MP3 audio ({kind}, {len(data)} bytes)")


def _mp3_duration(data: bytes) -> float:
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for b in data[6:10]:
            size = (size << 7) | (b & 0x7F)
        pos = 10 + size
    while pos + 4 <= len(data):
        if data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0:
            version_bits = (data[pos + 1] >> 3) & 0x3
            idx = data[pos + 2] >> 4
            table = _MP3_BITRATES if version_bits == 3 else _MP3_BITRATES_V2
            if idx in table:
                return (len(data) - pos) * 8 / (table[idx] * 1000.0)
        pos += 1
    raise BadAudio("MP3 without a valid frame header")


def espeak_render(text: str, language: str | None = None) -> tuple[bytes, float]:
    """Render ``text`` with espeak-ng; returns (WAV bytes, seconds). Used for <Say> audio."""
    voice = _espeak_voice(language)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "130", "-w", str(out), text],
            check=True, capture_output=True, timeout=60,
        )
        data = out.read_bytes()
    return data, wav_duration_seconds(data)


def _espeak_voice(language: str | None) -> str:
    lang = (language or "zh-CN").lower()
    if lang.startswith(("zh-hk", "yue")):
        return "yue"
    if lang.startswith(("zh", "cmn")):
        return "cmn"
    return lang.split("-")[0] or "en"


def load_clip(path: str | Path) -> bytes:
    """A caller's WAV clip as 8 kHz mu-law, what the phone network would carry."""
    pcm, rate = read_wav_mono16(str(path))
    return to_telephone_ulaw(pcm, rate)


class CallerAudio:
    """The caller's side of the line on the virtual timeline: clips at given times, else silence.

    Every stream of the call reads from here, so a clip "spoken" at t=12.3 s shows up at the same
    timestamp in each stream, whenever the stream thread gets to it.
    """

    def __init__(self) -> None:
        self._clips: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()

    def add(self, start: float, ulaw: bytes) -> float:
        """Schedule a clip; returns its end time (seconds)."""
        with self._lock:
            self._clips.append((start, ulaw))
        return start + len(ulaw) / TELEPHONE_RATE

    def frame(self, index: int) -> bytes:
        """The 20 ms frame number ``index`` (from t=0) of the caller's audio."""
        start_byte = index * FRAME_BYTES
        out = bytearray(ULAW_SILENCE * FRAME_BYTES)
        with self._lock:
            clips = list(self._clips)
        for t0, ulaw in clips:
            offset = start_byte - int(round(t0 * TELEPHONE_RATE))
            lo, hi = max(0, -offset), min(FRAME_BYTES, len(ulaw) - offset)
            if lo < hi:
                out[lo:hi] = ulaw[offset + lo : offset + hi]
        return bytes(out)

    def last_end_after(self, t0: float) -> float:
        """End of the last clip still playing at or after ``t0`` (``t0`` if none)."""
        with self._lock:
            ends = [s + len(u) / TELEPHONE_RATE for s, u in self._clips]
        return max([e for e in ends if e > t0], default=t0)

    def seconds_between(self, t0: float, t1: float) -> float:
        """How much caller speech falls inside [t0, t1] (what a <Record> captures)."""
        with self._lock:
            spans = [(s, s + len(u) / TELEPHONE_RATE) for s, u in self._clips]
        return sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in spans)

    def slice(self, t0: float, t1: float) -> bytes:
        """The caller's mu-law audio between two times (silence where nobody spoke)."""
        first, last = int(t0 * 1000) // FRAME_MS, int(t1 * 1000) // FRAME_MS
        return b"".join(self.frame(i) for i in range(first, last))


FRAME_SECONDS = FRAME_MS / 1000.0
