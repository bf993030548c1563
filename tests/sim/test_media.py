"""Media Streams framing and protocol, against a flask-sock server."""

from __future__ import annotations

import base64
import json
import wave
from pathlib import Path

from twilio.request_validator import RequestValidator

from ivr.sim.caller import Caller, ScriptedCaller, Step

from .conftest import ACCOUNT, TOKEN


def _wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        import math

        samples = bytearray()
        for i in range(int(rate * seconds)):
            v = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
            samples += v.to_bytes(2, "little", signed=True)
        w.writeframes(bytes(samples))
    return path


def _ws_url(fake_app) -> str:
    return fake_app.base.replace("http://", "ws://") + "/media"


def test_unidirectional_stream_frames_and_start_message(fake_app, make_sim, tmp_path):
    clip = _wav(tmp_path / "hello.wav", 1.0)
    fake_app.route("/voice/incoming", '<Response><Start><Stream url="../media" '
                   'track="inbound_track"><Parameter name="dialect" value="cmn"/></Stream>'
                   '</Start><Gather timeout="3"><Pause length="1"/></Gather>'
                   "<Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    caller = ScriptedCaller("+8613400000000", [Step.from_dict({"say": str(clip), "after": 0})])
    result = make_sim().place_call(caller)
    assert not result.errors
    session = fake_app.ws_sessions[0]
    sig = session["headers"].get("X-Twilio-Signature")
    assert RequestValidator(TOKEN).validate(_ws_url(fake_app), {}, sig)
    msgs = session["messages"]
    assert msgs[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = msgs[1]
    assert start["event"] == "start" and start["sequenceNumber"] == "1"
    body = start["start"]
    assert body["callSid"] == result.call_sid and body["accountSid"] == ACCOUNT
    assert body["streamSid"].startswith("MZ") and body["streamSid"] == start["streamSid"]
    assert body["tracks"] == ["inbound"]
    assert body["customParameters"] == {"dialect": "cmn"}
    assert body["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                   "channels": 1}
    media = [m for m in msgs if m["event"] == "media"]
    assert msgs[-1]["event"] == "stop" and msgs[-1]["stop"]["callSid"] == result.call_sid
    payloads = [base64.b64decode(m["media"]["payload"]) for m in media]
    assert all(len(p) == 160 for p in payloads)
    stamps = [int(m["media"]["timestamp"]) for m in media]
    assert stamps == list(range(0, 20 * len(media), 20))
    assert [int(m["media"]["chunk"]) for m in media] == list(range(1, len(media) + 1))
    seqs = [int(m["sequenceNumber"]) for m in msgs[1:]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert abs(len(media) * 0.02 - result.duration) <= 0.02  # the whole call, 1 + 3 s
    speech = [i for i, p in enumerate(payloads) if p != b"\xff" * 160]
    assert speech and abs(len(speech) - 50) <= 1  # 1 s clip = 50 frames, at the clip's time
    assert abs(speech[0] * 0.02 - 1.0) <= 0.02  # spoken when the Gather's prompt ended


def test_bidirectional_stream_marks_clear_dtmf_and_action(fake_app, make_sim):
    def handler(ws, session):
        marks = []
        while True:
            raw = ws.receive()
            if raw is None:
                return
            msg = json.loads(raw)
            session["messages"].append(msg)
            if msg["event"] == "start":
                sid = msg["streamSid"]
                audio = base64.b64encode(b"\x7f" * 8000).decode()  # 1 s of app audio
                ws.send(json.dumps({"event": "media", "streamSid": sid,
                                    "media": {"payload": audio}}))
                ws.send(json.dumps({"event": "mark", "streamSid": sid,
                                    "mark": {"name": "greeting"}}))
            if msg["event"] == "mark" and msg["mark"]["name"] == "greeting":
                marks.append(msg["mark"]["name"])
                ws.send(json.dumps({"event": "media", "streamSid": msg["streamSid"],
                                    "media": {"payload": audio}}))
                ws.send(json.dumps({"event": "mark", "streamSid": msg["streamSid"],
                                    "mark": {"name": "second"}}))
                ws.send(json.dumps({"event": "clear", "streamSid": msg["streamSid"]}))
            if msg["event"] == "dtmf":
                ws.close()
                return

    fake_app.ws_handler = handler
    fake_app.route("/voice/incoming", f'<Response><Connect action="/voice/after">'
                   f'<Stream url="{_ws_url(fake_app)}"/></Connect></Response>')
    fake_app.route("/voice/after", "<Response><Say>after connect</Say></Response>")
    fake_app.route("/voice/status", "<Response/>")
    caller = ScriptedCaller("+8613400000001", [Step.from_dict({"press": "5", "after": 3})])
    result = make_sim(speed=50.0).place_call(caller)
    msgs = fake_app.ws_sessions[0]["messages"]
    got_marks = [m["mark"]["name"] for m in msgs if m["event"] == "mark"]
    assert got_marks == ["greeting", "second"]  # 2nd returned by the clear
    first_mark = next(e for e in result.events if e["kind"] == "stream_mark")
    assert first_mark["t"] >= 1.0  # echoed once the 1 s of audio had played
    dtmf = [m for m in msgs if m["event"] == "dtmf"]
    assert dtmf and dtmf[0]["dtmf"] == {"track": "inbound_track", "digit": "5"}
    assert result.heard == ["after connect"]
    assert fake_app.hits("/voice/after")


def test_stream_to_nowhere_is_an_error_not_a_hang(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Start><Stream url="ws://127.0.0.1:9/x"/>'
                   '</Start><Say>still talking</Say></Response>')
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(Caller())
    assert result.heard == ["still talking"]
    assert "could not connect" in result.errors[0]
