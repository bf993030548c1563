"""The media process's WebSocket server through a real socket: Twilio messages in, transcripts out.

The asyncio server (``ivr.media.server``) runs on its own loop; websocket-client plays Twilio,
streaming espeak-ng Korean speech as 20 ms mu-law frames at real-time pace; the real Vosk engine
with the real Korean model recognises what the voice gate lets through.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
import websocket
from twilio.request_validator import RequestValidator

from ivr.media.auth import twilio_stream_auth
from ivr.media.server import MediaServer
from ivr.speech import codec
from ivr.speech import stream_messages as sm
from ivr.speech.asr import SpeechService
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


class Grammar:
    """grammar_for that counts how often the server asked (it must not poll)."""

    def __init__(self, phrases):
        self.phrases = phrases
        self.asked = 0

    def __call__(self, call_sid):
        self.asked += 1
        return self.phrases


@pytest.fixture
def server(speech_pool, ko_model_dir):  # noqa: F811
    """A real media server on a free port; yields (url, server, sink, grammar, digits)."""
    sink = Sink()
    grammar = Grammar(MENU)
    service = SpeechService({"mandarin": ko_model_dir}, pool=speech_pool)
    digits: list[tuple[str, str]] = []
    srv = MediaServer(service, sink, grammar, auth=twilio_stream_auth(lambda: TOKEN),
                      on_dtmf=lambda sid, d: digits.append((sid, d)), free_form=False)
    port = srv.start_in_thread()
    yield f"ws://127.0.0.1:{port}/media", srv, sink, grammar, digits
    srv.stop()


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
    url, srv, sink, grammar, digits = server
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
    assert dict(srv.stats.malformed) == {"bad_json": 1, "media_before_start": 1,
                                         "unknown_event": 1, "bad_base64": 1, "bad_size": 1}
    assert digits == [(CALL, "0")]
    _wait(lambda: srv.stats.sessions_active == 0)
    assert srv.stats.frames_dropped == 0
    # the gate kept the decoder off most of the silence around the words
    assert 0 < srv.stats.frames_decoded < srv.stats.frames
    assert grammar.asked == 1  # read once at the start, never polled


def test_a_grammar_change_is_read_once_when_announced(server, say_ulaw):  # noqa: F811
    url, srv, sink, grammar, _ = server
    ws = connect(url)
    ws.send(sm.start_json(SID, CALL))
    chunk = stream(ws, say_ulaw("잔액 조회"), pace=0.005)
    _wait(lambda: grammar.asked == 1, 10)
    grammar.phrases = ["상담원 연결", "[unk]"]  # the flow moved the caller to another menu...
    srv.mark_dirty(CALL)  # ...and announced it (the pub/sub feed calls this)
    chunk = stream(ws, b"\xff" * 8000, chunk, pace=0)  # 1 s of silence: nothing to decode
    assert grammar.asked == 1  # read only when there is speech to decode
    stream(ws, say_ulaw("상담원 연결"), chunk, pace=0.005)
    _wait(lambda: any(f and t == "상담원 연결" for (_, t, f, r) in sink.items), 15)
    assert grammar.asked == 2
    ws.close()


def test_unsigned_or_badly_signed_handshake_is_refused(server):
    url, srv, *_ = server
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(url, timeout=5)
    assert err.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(url, token="some-other-token")
    assert srv.stats.rejected == 2 and srv.stats.connections == 0


def test_disconnect_without_stop_closes_the_session(server):
    url, srv, sink, *_ = server
    ws = connect(url)
    ws.send(sm.start_json(SID, "CA" + "c" * 32))
    stream(ws, b"\xff" * 1600, pace=0)
    _wait(lambda: srv.stats.sessions_active == 1)
    ws.close()
    _wait(lambda: srv.stats.sessions_active == 0)
    assert srv.stats.frames == 10


def test_health_page_reports_counters(server):
    url, srv, *_ = server
    health = url.replace("ws://", "http://").replace("/media", "/healthz")
    body = json.loads(urllib.request.urlopen(health, timeout=5).read())
    assert body["status"] == "ok" and body["speech"] is True
    assert body["vad"] in {"webrtcvad", "energy"} and body["frames_dropped"] == 0


def test_backpressure_drops_and_counts_frames_when_decoders_are_busy(speech_pool,  # noqa: F811
                                                                     ko_model_dir, say_ulaw):  # noqa: F811
    """One decoder thread, made slow: the socket keeps reading, extra frames are counted."""
    release = threading.Event()

    def slow_grammar(call_sid):
        release.wait(10)  # the decoder is stuck (e.g. an overloaded box)
        return MENU

    service = SpeechService({"mandarin": ko_model_dir}, pool=speech_pool)
    srv = MediaServer(service, Sink(), slow_grammar, workers=1, queue_frames=50,
                      free_form=False)
    port = srv.start_in_thread()
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/media", timeout=10)
        ws.send(sm.start_json(SID, CALL))
        clip = say_ulaw("상담원 연결")
        stream(ws, clip, pace=0)
        _wait(lambda: srv.stats.frames >= len(clip) // 160, 15)  # the socket read it all...
        assert srv.stats.frames_dropped > 0  # ...while the stuck decoder's queue overflowed
        release.set()
        ws.close()
        _wait(lambda: srv.stats.sessions_active == 0, 15)
    finally:
        release.set()
        srv.stop()


def test_socket_drains_audio_when_speech_is_disabled(tmp_path):
    service = SpeechService({"mandarin": tmp_path / "no-model"})
    srv = MediaServer(service, lambda *a: None)
    port = srv.start_in_thread()
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/media", timeout=5)
        ws.send(sm.start_json(SID, CALL))
        stream(ws, b"\xff" * 3200, pace=0)
        ws.send(sm.stop_json(SID, CALL, 30))
        ws.close()
        _wait(lambda: srv.stats.frames == 20)
        assert srv.stats.malformed_total == 0
    finally:
        srv.stop()


def _wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
