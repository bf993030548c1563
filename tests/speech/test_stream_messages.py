"""Twilio Media Streams messages: valid ones decode, every malformed one has a reason code."""

from __future__ import annotations

import base64
import json

import pytest

from ivr.speech import stream_messages as sm

SID, CALL = "MZ" + "0" * 32, "CA" + "1" * 32
FRAME = bytes(range(160))


def test_connected_start_media_dtmf_mark_stop():
    assert sm.parse_message(sm.connected_json()) == sm.Connected("Call", "1.0.0")
    start = sm.parse_message(sm.start_json(SID, CALL, {"dialect": "sichuanese"}))
    assert isinstance(start, sm.Start)
    assert (start.stream_sid, start.call_sid, start.tracks) == (SID, CALL, ("inbound",))
    assert start.custom_parameters == {"dialect": "sichuanese"}
    assert start.media_format == sm.MediaFormat("audio/x-mulaw", 8000, 1)
    media = sm.parse_message(sm.media_json(SID, FRAME * 2, chunk=3, sequence_number=4))
    assert isinstance(media, sm.Media)
    assert (media.payload, media.chunk, media.timestamp, media.track) == (FRAME * 2, 3, 40,
                                                                          "inbound")
    assert media.sequence_number == 4
    dtmf = sm.parse_message(sm.dtmf_json(SID, "0", 5))
    assert isinstance(dtmf, sm.Dtmf) and dtmf.digit == "0"
    mark = sm.parse_message(json.dumps({"event": "mark", "streamSid": SID,
                                        "mark": {"name": "greeting"}}))
    assert isinstance(mark, sm.Mark) and mark.name == "greeting"
    stop = sm.parse_message(sm.stop_json(SID, CALL, 9).encode())  # bytes are accepted
    assert isinstance(stop, sm.Stop) and stop.call_sid == CALL


def _media(payload_b64, **extra) -> str:
    return json.dumps({"event": "media", "streamSid": SID,
                       "media": {"track": "inbound", "chunk": "1", "timestamp": "0",
                                 "payload": payload_b64, **extra}})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        ("[1, 2]", "bad_json"),
        (json.dumps({"event": "hangup"}), "unknown_event"),
        (json.dumps({"no": "event"}), "unknown_event"),
        (_media("!!!not base64!!!"), "bad_base64"),
        (_media(base64.b64encode(FRAME[:77]).decode()), "bad_size"),
        (_media(base64.b64encode(b"\xff" * 8160).decode()), "bad_size"),
        (_media(""), "missing_field"),
        (json.dumps({"event": "media", "streamSid": SID}), "missing_field"),
        (_media(base64.b64encode(FRAME).decode(), chunk="x"), "bad_number"),
        (json.dumps({"event": "start", "start": {"streamSid": SID}}), "missing_field"),
        (sm.start_json(SID, CALL).replace("audio/x-mulaw", "audio/l16"), "bad_format"),
        (json.dumps({"event": "dtmf", "dtmf": {"digit": "99"}}), "bad_digit"),
        ("x" * (sm.MAX_MESSAGE_CHARS + 1), "too_large"),
    ],
)
def test_malformed_messages_have_a_reason(raw, reason):
    with pytest.raises(sm.StreamMessageError) as err:
        sm.parse_message(raw)
    assert err.value.reason == reason
