"""Telephone audio: 8 kHz mu-law <-> 16-bit PCM, resampling, and WAV files.

Twilio Media Streams carry base64 8 kHz mu-law in 20 ms frames (160 bytes); Vosk wants 16-bit PCM.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

try:  # Python < 3.13 ships audioop; 3.13+ gets it from the audioop-lts wheel.
    import audioop
except ImportError:  # pragma: no cover
    import audioop  # type: ignore[no-redef]

import numpy as np

TELEPHONE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = TELEPHONE_RATE * FRAME_MS // 1000  # 160 mu-law bytes per 20 ms frame


def ulaw_to_pcm16(data: bytes) -> bytes:
    """Decode mu-law bytes to little-endian 16-bit PCM (same rate)."""
    return audioop.ulaw2lin(data, 2)


def pcm16_to_ulaw(data: bytes) -> bytes:
    """Encode 16-bit PCM to mu-law (same rate)."""
    return audioop.lin2ulaw(data, 2)


def resample_pcm16(data: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample mono 16-bit PCM with linear interpolation (good enough for speech at 8-22 kHz)."""
    if src_rate == dst_rate or not data:
        return data
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32)
    n_out = max(1, int(round(len(samples) * dst_rate / src_rate)))
    x_old = np.arange(len(samples), dtype=np.float64) / src_rate
    x_new = np.arange(n_out, dtype=np.float64) / dst_rate
    out = np.interp(x_new, x_old, samples)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def read_wav_mono16(path: str | Path | io.BytesIO) -> tuple[bytes, int]:
    """Read a PCM or mu-law WAV as mono 16-bit PCM; returns (pcm, sample_rate)."""
    with open(path, "rb") if not isinstance(path, io.BytesIO) else path as fh:
        raw = fh.read()
    if raw[:4] == b"RIFF" and _wav_format_tag(raw) == 7:  # WAVE_FORMAT_MULAW: wave can't read it
        rate, channels, data = _read_ulaw_wav(raw)
        pcm = ulaw_to_pcm16(data)
        width = 2
    else:
        with wave.open(io.BytesIO(raw)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            pcm = w.readframes(w.getnframes())
        if width != 2:
            pcm = audioop.lin2lin(pcm, width, 2)
    if channels == 2:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    return pcm, rate


def to_telephone_ulaw(pcm: bytes, rate: int) -> bytes:
    """What a phone line carries: 8 kHz mu-law."""
    return pcm16_to_ulaw(resample_pcm16(pcm, rate, TELEPHONE_RATE))


def ulaw_frames(ulaw: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """Split mu-law audio into 20 ms frames, padding the last one with mu-law silence (0xFF)."""
    frames = [ulaw[i : i + frame_bytes] for i in range(0, len(ulaw), frame_bytes)]
    if frames and len(frames[-1]) < frame_bytes:
        frames[-1] = frames[-1] + b"\xff" * (frame_bytes - len(frames[-1]))
    return frames


def write_ulaw_wav(path: str | Path, ulaw: bytes, rate: int = TELEPHONE_RATE) -> None:
    """Write a mono mu-law WAV (format tag 7), the file Twilio <Play> streams to a phone."""
    Path(path).write_bytes(ulaw_wav_bytes(ulaw, rate))


def ulaw_wav_bytes(ulaw: bytes, rate: int = TELEPHONE_RATE) -> bytes:
    """Bytes of a mono mu-law WAV file with a fact chunk, as WAVE_FORMAT_MULAW requires."""
    fmt = (
        (7).to_bytes(2, "little")  # WAVE_FORMAT_MULAW
        + (1).to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + rate.to_bytes(4, "little")  # byte rate: 1 byte per sample
        + (1).to_bytes(2, "little")  # block align
        + (8).to_bytes(2, "little")  # bits per sample
        + (0).to_bytes(2, "little")  # cbSize
    )
    fact = len(ulaw).to_bytes(4, "little")
    pad = b"\x00" if len(ulaw) % 2 else b""
    body = (
        b"WAVE"
        + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
        + b"fact" + (4).to_bytes(4, "little") + fact
        + b"data" + len(ulaw).to_bytes(4, "little") + ulaw + pad
    )
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def wav_duration_seconds(data: bytes) -> float:
    """Duration of a PCM or mu-law WAV given as bytes; raises ValueError if it is not a WAV."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    if _wav_format_tag(data) == 7:
        rate, channels, payload = _read_ulaw_wav(data)
        return len(payload) / (rate * channels)
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / float(w.getframerate())


def _chunks(raw: bytes):
    pos = 12
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        yield cid, raw[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size % 2)


def _wav_format_tag(raw: bytes) -> int:
    for cid, body in _chunks(raw):
        if cid == b"fmt ":
            return int.from_bytes(body[:2], "little")
    raise ValueError("WAV has no fmt chunk")


def _read_ulaw_wav(raw: bytes) -> tuple[int, int, bytes]:
    rate = channels = 0
    data = b""
    for cid, body in _chunks(raw):
        if cid == b"fmt ":
            channels = int.from_bytes(body[2:4], "little")
            rate = int.from_bytes(body[4:8], "little")
        elif cid == b"data":
            data = body
    if not rate or not channels:
        raise ValueError("mu-law WAV without a valid fmt chunk")
    return rate, channels, data
