"""/media admits a stream only for one live call: the per-call token, account, liveness, one
stream per call, bounded messages and duration; a refusal never stops the service.

The media process is built the way `ivr media` builds it (``ivr.media.process.build``), on a real
socket; websocket-client plays Twilio. Calls are made live through the real webhooks.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time

import pytest
import websocket
from twilio.request_validator import RequestValidator

from ivr.media.process import build
from ivr.media.server import MediaServer
from ivr.speech import stream_messages as sm
from ivr.telephony.stream_token import PARAMETER, make_token
from tests.helpers import ACCOUNT, TOKEN, call_params, new_call_sid, post_signed

SIGNED_URL = "ws://localhost/media"  # the configured stream URL (public URL + /media)
FRAME = base64.b64encode(b"\xff" * 160).decode()


OPENED: list[websocket.WebSocket] = []  # closed after each test, so the server stops at once


@pytest.fixture
def media(app):
    proc = build(app.extensions["ivr"].settings, watch_config=False)
    port = proc.server.start_in_thread()
    yield proc.server, f"ws://127.0.0.1:{port}/media"
    close_all()
    proc.server.stop()


def close_all() -> None:
    while OPENED:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            OPENED.pop().shutdown()  # drop the TCP connection (the server waits for it)


def connect(url: str, **kwargs) -> websocket.WebSocket:
    ws = websocket.create_connection(url, timeout=10, **kwargs)
    OPENED.append(ws)
    return ws


def live_call(client) -> str:
    sid = new_call_sid()
    assert post_signed(client, "/voice/incoming", call_params(sid)).status_code == 200
    return sid


def open_ws(url: str, signed_url: str = SIGNED_URL, token: str = TOKEN) -> websocket.WebSocket:
    sig = RequestValidator(token).compute_signature(signed_url, {})
    return connect(url, header=[f"X-Twilio-Signature: {sig}"])


def start(ws, call_sid: str, token: str | None, account: str = ACCOUNT) -> str:
    stream_sid = "MZ" + call_sid[2:]
    params = {"dialect": "mandarin"}
    if token is not None:
        params[PARAMETER] = token
    ws.send(sm.start_json(stream_sid, call_sid, params, account_sid=account))
    return stream_sid


def media_msg(stream_sid: str, seq: int = 2, raw_seq: str | None = None) -> str:
    seq_json = raw_seq if raw_seq is not None else json.dumps(str(seq))
    media = {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": FRAME}
    return (f'{{"event":"media","sequenceNumber":{seq_json},"streamSid":"{stream_sid}",'
            f'"media":{json.dumps(media)}}}')


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def good_token(sid: str) -> str:
    return make_token("test-secret", sid, time.time())


def admitted_stream(server, url, client) -> tuple[websocket.WebSocket, str]:
    """A legitimate stream for a new live call, shown to carry audio."""
    sid = live_call(client)
    ws = open_ws(url)
    stream_sid = start(ws, sid, good_token(sid))
    before = server.stats.frames
    ws.send(media_msg(stream_sid))
    wait_for(lambda: server.stats.frames > before)
    return ws, sid


def close_code(ws: websocket.WebSocket) -> int | None:
    """Read until the server's close frame; its status code (None if the socket just died)."""
    ws.settimeout(10)
    try:
        while True:
            opcode, frame = ws.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                ws.shutdown()
                return int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
    except (websocket.WebSocketException, OSError):
        return None


def refused(server, reason: str, n: int = 1) -> None:
    wait_for(lambda: server.stats.refused[reason] >= n)


def test_the_twiml_stream_carries_a_token_for_its_call(tmp_path, redis_server, redis_client,
                                                       stub):
    from ivr.app import create_app
    from ivr.speech.asr import SpeechService
    from tests.helpers import make_settings

    settings = make_settings(tmp_path, redis_server.url,
                             twilio_api_base=f"http://127.0.0.1:{stub.port}")
    enabled = SpeechService({"mandarin": tmp_path})
    enabled.enabled = True  # only decides that TwiML starts a stream; no decoding here
    app = create_app(settings, speech=enabled)
    sid = new_call_sid()
    body = post_signed(app.test_client(), "/voice/incoming", call_params(sid)).get_data(True)
    assert '<Stream' in body and f'name="{PARAMETER}"' in body
    token = body.split(f'name="{PARAMETER}" value="')[1].split('"')[0]
    from ivr.telephony.stream_token import check_token

    assert check_token("test-secret", sid, token, time.time()) is None
    assert check_token("test-secret", new_call_sid(), token, time.time()) == "token_bad_mac"


def test_a_valid_stream_is_admitted_and_the_forged_ones_refused(media, client):
    server, url = media
    ws, sid = admitted_stream(server, url, client)
    # the same call, a second stream while the first is open
    second = open_ws(url)
    start(second, sid, good_token(sid))
    assert close_code(second) == 1008
    refused(server, "second_stream")
    # a token for another call
    other = live_call(client)
    forged = open_ws(url)
    start(forged, other, good_token(sid))
    refused(server, "token_bad_mac")
    # missing and expired tokens
    start(open_ws(url), other, None)
    refused(server, "token_missing")
    start(open_ws(url), other, make_token("test-secret", other, time.time() - 3600))
    refused(server, "token_expired")
    # another Twilio account, and a call that is not live
    start(open_ws(url), other, good_token(other), account="AC" + "9" * 32)
    refused(server, "account_mismatch")
    gone = new_call_sid()
    start(open_ws(url), gone, good_token(gone))
    refused(server, "call_not_live")
    # the legitimate stream kept flowing through all of it
    before = server.stats.frames
    ws.send(media_msg("MZ" + sid[2:], 3))
    wait_for(lambda: server.stats.frames > before)
    ws.send(sm.stop_json("MZ" + sid[2:], sid, 4))
    ws.close()


def test_a_replayed_handshake_and_start_are_refused(media, client):
    server, url = media
    ws, sid = admitted_stream(server, url, client)
    token = good_token(sid)
    ws.send(sm.stop_json("MZ" + sid[2:], sid, 3))
    ws.close()
    replay = open_ws(url)  # the same signature header and the same start message, later
    start(replay, sid, token)
    refused(server, "second_stream")
    # and once the caller hung up, not even a fresh token opens a stream for that call
    post_signed(client, "/voice/status", call_params(sid, CallStatus="completed"))
    late = open_ws(url)
    start(late, sid, good_token(sid))
    wait_for(lambda: server.stats.refused["call_not_live"] + server.stats.refused[
        "second_stream"] >= 2)


def test_handshakes_without_the_signature_of_the_configured_url_are_refused(media, client):
    server, url = media
    for kwargs in ({"token": "not-ours"}, {"signed_url": url}):  # url: the Host we connected to
        with pytest.raises(websocket.WebSocketBadStatusException) as err:
            open_ws(url, **kwargs)
        assert err.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, timeout=5)
    admitted_stream(server, url, client)[0].close()


def test_a_ten_megabyte_message_is_refused_at_the_socket_and_service_goes_on(media, client):
    server, url = media
    ws, sid = admitted_stream(server, url, client)
    big = '{"event":"media","media":{"payload":"' + "A" * (10 * 1024 * 1024) + '"}}'
    with contextlib.suppress(websocket.WebSocketException, OSError):
        ws.send(big)  # the server may close before the whole message is written
    assert close_code(ws) == 1009  # "message too big": refused by the socket layer, unbuffered
    ok, _ = admitted_stream(server, url, client)  # a new call's stream is served
    ok.close()
    assert client.get("/healthz").status_code == 200


def test_bad_numbers_do_not_drop_the_stream(media, client):
    server, url = media
    ws, sid = admitted_stream(server, url, client)
    stream_sid = "MZ" + sid[2:]
    for raw in ("1e400", "9" * 4300, "9" * 5000, "-1", '"٣"'):
        ws.send(media_msg(stream_sid, raw_seq=raw))
    before = server.stats.frames
    ws.send(media_msg(stream_sid, 9))
    wait_for(lambda: server.stats.frames > before)  # still open, still heard
    assert server.stats.malformed["bad_number"] + server.stats.malformed["bad_json"] >= 5
    ws.close()


def test_no_start_and_overlong_streams_are_closed():
    server = MediaServer(None, lambda *a: None, admit=lambda start: None,
                         max_stream_seconds=1.0, start_timeout_seconds=0.5)
    port = server.start_in_thread()
    url = f"ws://127.0.0.1:{port}/media"
    try:
        silent = connect(url)
        silent.send(sm.connected_json())
        assert close_code(silent) == 1008
        assert server.stats.refused["no_start"] == 1
        long = connect(url)
        long.send(sm.start_json("MZ" + "1" * 32, "CA" + "1" * 32))
        began = time.monotonic()
        long.send(media_msg("MZ" + "1" * 32))
        close_code(long)  # closed by the server after max_stream_seconds
        assert 0.9 < time.monotonic() - began < 5
    finally:
        close_all()
        server.stop()
