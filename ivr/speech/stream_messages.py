"""Twilio Media Streams messages: parse and validate, build (for tests and the local stand-in).

Pure module (no Flask, no Twilio SDK). Every way a message can be wrong raises
``StreamMessageError`` with a short ``reason`` code, so the socket can count it and skip it
instead of dropping the call. Schema: Twilio "Media Streams - WebSocket Messages"
(``connected``, ``start``, ``media``, ``dtmf``, ``mark``, ``stop``; numbers arrive as strings).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Union

from ivr.speech.codec import FRAME_BYTES, TELEPHONE_RATE

MULAW_ENCODING = "audio/x-mulaw"
MAX_PAYLOAD_BYTES = FRAME_BYTES * 50  # 1 s of audio: far above Twilio's 20 ms frames
MAX_MESSAGE_CHARS = 64 * 1024  # a media message is ~300 chars; anything huge is not Twilio


class StreamMessageError(ValueError):
    """A message the socket must skip; ``reason`` is a stable code for counters and logs."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MediaFormat:
    encoding: str = MULAW_ENCODING
    sample_rate: int = TELEPHONE_RATE
    channels: int = 1


@dataclass(frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    custom_parameters: dict[str, str] = field(default_factory=dict)
    media_format: MediaFormat = MediaFormat()
    sequence_number: int | None = None


@dataclass(frozen=True)
class Media:
    stream_sid: str
    track: str
    chunk: int
    timestamp: int
    payload: bytes  # raw 8 kHz mu-law, a whole number of 20 ms frames
    sequence_number: int | None = None


@dataclass(frozen=True)
class Dtmf:
    stream_sid: str
    track: str
    digit: str
    sequence_number: int | None = None


@dataclass(frozen=True)
class Mark:
    stream_sid: str
    name: str
    sequence_number: int | None = None


@dataclass(frozen=True)
class Stop:
    stream_sid: str
    call_sid: str
    account_sid: str
    sequence_number: int | None = None


StreamMessage = Union[Connected, Start, Media, Dtmf, Mark, Stop]  # noqa: UP007 (py3.10 target)

DTMF_DIGITS = frozenset("0123456789*#ABCD")


def parse_message(raw: str | bytes) -> StreamMessage:
    """Decode one WebSocket text message into a dataclass, or raise ``StreamMessageError``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StreamMessageError("bad_json", "not UTF-8") from exc
    if len(raw) > MAX_MESSAGE_CHARS:
        raise StreamMessageError("too_large", f"{len(raw)} chars")
    try:
        # ValueError also covers an integer of more than 4,300 digits (int max_str_digits)
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StreamMessageError("bad_json", str(exc)[:80]) from exc
    if not isinstance(obj, dict):
        raise StreamMessageError("bad_json", "not an object")
    event = obj.get("event")
    parser = _PARSERS.get(event) if isinstance(event, str) else None
    if parser is None:
        raise StreamMessageError("unknown_event", repr(event)[:40])
    return parser(obj)


def _section(obj: dict[str, Any], key: str) -> dict[str, Any]:
    sec = obj.get(key)
    if not isinstance(sec, dict):
        raise StreamMessageError("missing_field", key)
    return sec


def _str(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    val = obj.get(key, default)
    if not isinstance(val, str) or (default is None and not val):
        raise StreamMessageError("missing_field", key)
    return val


def _int(obj: dict[str, Any], key: str, required: bool = True) -> int | None:
    val = obj.get(key)
    if val is None and not required:
        return None
    if isinstance(val, bool) or not isinstance(val, (str, int)):
        raise StreamMessageError("bad_number", key)  # 1e400 is a float (inf): never a count
    if isinstance(val, str) and not (0 < len(val) <= 12 and val.isascii() and val.isdigit()):
        raise StreamMessageError("bad_number", key)
    num = int(val)  # Twilio sends "1", "20"...; small ints are accepted too
    if num < 0 or num > 10**12:
        raise StreamMessageError("bad_number", key)
    return num


def _parse_connected(obj: dict[str, Any]) -> Connected:
    return Connected(protocol=_str(obj, "protocol", ""), version=_str(obj, "version", ""))


def _parse_start(obj: dict[str, Any]) -> Start:
    sec = _section(obj, "start")
    fmt = sec.get("mediaFormat") or {}
    if not isinstance(fmt, dict):
        raise StreamMessageError("bad_format", "mediaFormat")
    media_format = MediaFormat(
        encoding=str(fmt.get("encoding", MULAW_ENCODING)),
        sample_rate=_int(fmt, "sampleRate", required=False) or TELEPHONE_RATE,
        channels=_int(fmt, "channels", required=False) or 1,
    )
    if media_format != MediaFormat():
        raise StreamMessageError("bad_format", f"{media_format}")
    params = sec.get("customParameters") or {}
    if not isinstance(params, dict):
        raise StreamMessageError("missing_field", "customParameters")
    tracks = sec.get("tracks") or ["inbound"]
    if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
        raise StreamMessageError("missing_field", "tracks")
    return Start(
        stream_sid=_str(sec, "streamSid", obj.get("streamSid")),
        call_sid=_str(sec, "callSid"),
        account_sid=_str(sec, "accountSid", ""),
        tracks=tuple(tracks),
        custom_parameters={str(k): str(v) for k, v in params.items()},
        media_format=media_format,
        sequence_number=_int(obj, "sequenceNumber", required=False),
    )


def _parse_media(obj: dict[str, Any]) -> Media:
    sec = _section(obj, "media")
    payload_b64 = sec.get("payload")
    if not isinstance(payload_b64, str) or not payload_b64:
        raise StreamMessageError("missing_field", "media.payload")
    if len(payload_b64) > (MAX_PAYLOAD_BYTES * 4) // 3 + 4:
        raise StreamMessageError("bad_size", f"{len(payload_b64)} base64 chars")
    try:
        payload = base64.b64decode(payload_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StreamMessageError("bad_base64", str(exc)[:60]) from exc
    if not payload or len(payload) % FRAME_BYTES:
        raise StreamMessageError("bad_size", f"{len(payload)} bytes, not 20 ms frames")
    return Media(
        stream_sid=_str(obj, "streamSid", ""),
        track=_str(sec, "track", "inbound"),
        chunk=_int(sec, "chunk", required=False) or 0,
        timestamp=_int(sec, "timestamp", required=False) or 0,
        payload=payload,
        sequence_number=_int(obj, "sequenceNumber", required=False),
    )


def _parse_dtmf(obj: dict[str, Any]) -> Dtmf:
    sec = _section(obj, "dtmf")
    digit = _str(sec, "digit")
    if digit not in DTMF_DIGITS:
        raise StreamMessageError("bad_digit", digit[:4])
    return Dtmf(
        stream_sid=_str(obj, "streamSid", ""),
        track=_str(sec, "track", "inbound_track"),
        digit=digit,
        sequence_number=_int(obj, "sequenceNumber", required=False),
    )


def _parse_mark(obj: dict[str, Any]) -> Mark:
    sec = _section(obj, "mark")
    return Mark(
        stream_sid=_str(obj, "streamSid", ""),
        name=_str(sec, "name", ""),
        sequence_number=_int(obj, "sequenceNumber", required=False),
    )


def _parse_stop(obj: dict[str, Any]) -> Stop:
    sec = obj.get("stop") if isinstance(obj.get("stop"), dict) else {}
    return Stop(
        stream_sid=_str(obj, "streamSid", ""),
        call_sid=_str(sec, "callSid", ""),
        account_sid=_str(sec, "accountSid", ""),
        sequence_number=_int(obj, "sequenceNumber", required=False),
    )


_PARSERS = {
    "connected": _parse_connected,
    "start": _parse_start,
    "media": _parse_media,
    "dtmf": _parse_dtmf,
    "mark": _parse_mark,
    "stop": _parse_stop,
}


# --- builders: what Twilio sends, for tests, the benchmark and the local Twilio stand-in ---

def connected_json() -> str:
    return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start_json(
    stream_sid: str,
    call_sid: str,
    custom_parameters: dict[str, str] | None = None,
    account_sid: str = "AC00000000000000000000000000000000",
    sequence_number: int = 1,
) -> str:
    return json.dumps({
        "event": "start",
        "sequenceNumber": str(sequence_number),
        "start": {
            "accountSid": account_sid,
            "streamSid": stream_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": custom_parameters or {},
            "mediaFormat": {"encoding": MULAW_ENCODING, "sampleRate": TELEPHONE_RATE,
                            "channels": 1},
        },
        "streamSid": stream_sid,
    }, ensure_ascii=False)


def media_json(
    stream_sid: str, payload: bytes, chunk: int, sequence_number: int, track: str = "inbound"
) -> str:
    """One media message; ``chunk`` counts from 1 and sets the timestamp (20 ms per frame)."""
    return json.dumps({
        "event": "media",
        "sequenceNumber": str(sequence_number),
        "media": {
            "track": track,
            "chunk": str(chunk),
            "timestamp": str((chunk - 1) * 20),
            "payload": base64.b64encode(payload).decode("ascii"),
        },
        "streamSid": stream_sid,
    })


def dtmf_json(stream_sid: str, digit: str, sequence_number: int) -> str:
    return json.dumps({
        "event": "dtmf", "streamSid": stream_sid, "sequenceNumber": str(sequence_number),
        "dtmf": {"track": "inbound_track", "digit": digit},
    })


def stop_json(stream_sid: str, call_sid: str, sequence_number: int,
              account_sid: str = "AC00000000000000000000000000000000") -> str:
    return json.dumps({
        "event": "stop", "sequenceNumber": str(sequence_number), "streamSid": stream_sid,
        "stop": {"accountSid": account_sid, "callSid": call_sid},
    })
