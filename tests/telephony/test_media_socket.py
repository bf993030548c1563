"""The /media WebSocket through a real server: Twilio-format messages in, transcripts out.

A real werkzeug server (threaded) runs a tiny Flask app with the media route; websocket-client
plays Twilio, streaming espeak-ng Korean speech as 20 ms mu-law frames at real-time pace; the
real Vosk engine with the real Korean model recognises it.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import websocket
from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.speech import codec
from ivr.speech import stream_messages as sm
from ivr.speech.asr import SpeechService
from ivr.telephony.media import register_media_socket
from tests.speech.conftest import MENU, ko_model_dir, say_ulaw, speech_pool  # noqa: F401

TOKEN = "test-auth-token"
SID, CALL = "MZ" + "a" * 32, "CA" + "b" * 32


class Sink:
    def __init__(self):
        self.items: list[tuple[str, str, bool, bool]] = []
        self.cond = threading.Condition()

    def __call__(self, call_sid, text, final, restricted):
        with self.cond:
            self.items.append((call_sid, text, final, restricted))
            self.cond.notify_all()

    def wait_final(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(f and r for (_, _, f, r) in self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return next(t for (_, t, f, r) in self.items if f and r)


@pytest.fixture
def server(speech_pool, ko_model_dir):  # noqa: F811
    """A real threaded HTTP/WebSocket server with the media route; yields (url, stats, ...)."""
    app = Flask("media-test")
    sink = Sink()
    service = SpeechService({"mandarin": ko_model_dir}, grammar_for=lambda sid: MENU,
                            pool=speech_pool)
    digits: list[tuple[str, str]] = []
    stats = register_media_socket(app, service, sink, auth_context=lambda: (TOKEN, None, []),
                                  on_dtmf=lambda sid, d: digits.append((sid, d)))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    url = f"ws://127.0.0.1:{srv.server_port}/media"
    yield url, stats, sink, service, digits
    srv.shutdown()


def connect(url: str, token: str = TOKEN) -> websocket.WebSocket:
    sig = RequestValidator(token).compute_signature(url, {})
    return websocket.create_connection(url, header=[f"X-Twilio-Signature: {sig}"], timeout=10)


def stream(ws, ulaw: bytes, first_chunk: int = 1, pace: float = 0.02) -> int:
    """Send frames like Twilio (one 20 ms frame per message, paced); returns the next chunk."""
    chunk = first_chunk
    for frame in codec.ulaw_frames(ulaw):
        ws.send(sm.media_json(SID, frame, chunk, chunk + 1))
        chunk += 1
        if pace:
            time.sleep(pace)
    return chunk


def test_stream_is_recognised_despite_malformed_messages(server, say_ulaw):  # noqa: F811
    url, stats, sink, service, digits = server
    ws = connect(url)
    ws.send(sm.connected_json())
    ws.send("{definitely not json")  # before start
    ws.send(sm.media_json(SID, b"\xff" * 160, 1, 1))  # media before start
    ws.send(sm.start_json(SID, CALL, {"dialect": "mandarin"}))
    ws.send(json.dumps({"event": "hangup-now", "streamSid": SID}))  # unknown event
    ws.send(json.dumps({"event": "media", "streamSid": SID,
                        "media": {"track": "inbound", "payload": "%%%bad%%%"}}))
    ws.send(json.dumps({"event": "media", "streamSid": SID,
                        "media": {"track": "inbound", "payload": "/w=="}}))  # 1 byte: odd size
    ws.send(sm.media_json(SID, b"\x00" * 1600, 2, 2, track="outbound"))  # prompts: ignored
    ws.send(sm.dtmf_json(SID, "0", 3))
    stream(ws, say_ulaw("상담원 연결"), first_chunk=3)
    assert sink.wait_final() == "상담원 연결"
    ws.send(sm.stop_json(SID, CALL, 999))
    ws.close()
    assert all(item[0] == CALL for item in sink.items)
    assert dict(stats.malformed) == {"bad_json": 1, "media_before_start": 1, "unknown_event": 1,
                                     "bad_base64": 1, "bad_size": 1}
    assert digits == [(CALL, "0")]
    _wait(lambda: service.stats.sessions_active == 0)
    assert service.stats.frames_dropped == 0


def test_unsigned_or_badly_signed_handshake_is_refused(server):
    url, stats, *_ = server
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(url, timeout=5)
    assert err.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(url, token="some-other-token")
    assert stats.rejected == 2 and stats.connections == 0


def test_disconnect_without_stop_closes_the_session(server):
    url, stats, sink, service, _ = server
    ws = connect(url)
    ws.send(sm.start_json(SID, "CA" + "c" * 32))
    stream(ws, b"\xff" * 1600, pace=0)
    _wait(lambda: service.stats.sessions_active == 1)
    ws.close()
    _wait(lambda: service.stats.sessions_active == 0)
    assert stats.frames == 10


def test_socket_drains_audio_when_speech_is_disabled(tmp_path):
    app = Flask("no-speech")
    service = SpeechService({"mandarin": tmp_path / "no-model"})
    stats = register_media_socket(app, service, lambda *a: None)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{srv.server_port}/media", timeout=5)
        ws.send(sm.start_json(SID, CALL))
        stream(ws, b"\xff" * 3200, pace=0)
        ws.send(sm.stop_json(SID, CALL, 30))
        ws.close()
        _wait(lambda: stats.frames == 20)
        assert stats.malformed_total == 0
    finally:
        srv.shutdown()


def _wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
