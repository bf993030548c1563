"""Virtual clock semantics, and the less common verbs (Record, Dial, Reject, Dial>Queue)."""

from __future__ import annotations

import math
import threading
import time
import wave
from pathlib import Path

import pytest

from ivr.sim.audio import BadAudio, audio_duration
from ivr.sim.caller import Caller, ScriptedCaller, Step
from ivr.sim.clock import VirtualClock, say_seconds
from ivr.speech.codec import ulaw_wav_bytes


def test_clock_jumps_at_infinite_speed_and_runs_scaled_otherwise():
    c = VirtualClock(math.inf)
    assert c.wait_until(3600.0) == 3600.0
    c = VirtualClock(100.0)
    start = time.monotonic()
    assert c.wait_until(5.0) == 5.0
    assert 0.04 <= time.monotonic() - start < 0.5


def test_clock_wait_is_interrupted_at_the_matching_virtual_instant():
    c = VirtualClock(100.0)
    wake = threading.Event()
    threading.Timer(0.1, wake.set).start()  # 0.1 s real = ~10 s virtual
    t = c.wait_until(60.0, wake)
    assert 8.0 <= t <= 20.0
    c.advance(1.5)
    assert c.now() == pytest.approx(t + 1.5)


def test_say_duration_counts_characters_not_spaces():
    assert say_seconds("一二三 四五六", 120) == pytest.approx(3.0)


def test_audio_validation():
    assert audio_duration(ulaw_wav_bytes(b"\xff" * 4000)) == pytest.approx(0.5)
    assert audio_duration(b"\xff" * 800, "audio/basic") == pytest.approx(0.1)
    mp3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 15996
    assert audio_duration(mp3, "audio/mpeg") == pytest.approx(1.0, rel=0.01)
    with pytest.raises(BadAudio):
        audio_duration(b"<html>oops</html>", "text/html")


def test_play_of_non_audio_is_an_error_naming_play(fake_app, make_sim):
    fake_app.route("/voice/incoming", "<Response><Play>/audio/missing.wav</Play></Response>")
    fake_app.route("/audio/missing.wav", "<html>not audio</html>")
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(Caller())
    assert result.ended_by == "app_error" and "<Play>" in result.errors[0]


def test_record_posts_recording_and_serves_it(fake_app, make_sim, tmp_path: Path):
    clip = tmp_path / "msg.wav"
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x20" * 16000)  # 2 s
    fake_app.route("/voice/incoming", '<Response><Record action="/voice/rec" timeout="3" '
                   'maxLength="30"/><Say>no recording</Say></Response>')
    fake_app.route("/voice/rec", "<Response><Say>thanks</Say></Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim()
    caller = ScriptedCaller("+8613000000000", [Step.from_dict({"say": str(clip), "after": 1})])
    result = sim.place_call(caller)
    form = fake_app.hits("/voice/rec")[0]["form"]
    assert form["RecordingDuration"] == "2" and form["RecordingSid"].startswith("RE")
    assert result.heard == ["thanks"]
    rec = next(e for e in result.events if e["kind"] == "recorded")
    assert rec["t"] == pytest.approx(0.5 + 1 + 2 + 3)  # beep, pause, speech, silence timeout
    import requests

    wav = requests.get(form["RecordingUrl"], auth=(sim.config.account_sid,
                                                  sim.config.auth_token), timeout=5)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"


def test_dial_agent_answers_then_action(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Dial action="/voice/dialed" timeout="20">'
                   "<Number>+861000</Number></Dial></Response>")
    fake_app.route("/voice/dialed", "<Response><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim()
    sim.config.agent.answer_after, sim.config.agent.talk_seconds = 4, 30
    result = sim.place_call(Caller())
    assert result.bridged_at == pytest.approx(4.0)
    form = fake_app.hits("/voice/dialed")[0]["form"]
    assert form["DialCallStatus"] == "completed" and form["DialCallDuration"] == "30"


def test_reject_first_verb_is_busy(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Reject reason="busy"/></Response>')
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(Caller())
    assert result.ended_by == "rejected" and result.status == "busy"
    assert fake_app.hits("/voice/status")[0]["form"]["CallStatus"] == "busy"


def test_dial_queue_bridges_the_waiting_caller(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Enqueue waitUrl="/voice/wait" '
                   'action="/voice/exit">hotline</Enqueue></Response>')
    fake_app.route("/voice/wait", '<Response><Pause length="5"/></Response>')
    fake_app.route("/voice/exit", "<Response/>")
    fake_app.route("/voice/agent-leg", "<Response><Dial><Queue>hotline</Queue></Dial>"
                   "</Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim(speed=200.0)
    waiting = sim.start_call(Caller())
    for _ in range(200):
        if waiting.enqueued_at is not None:
            break
        time.sleep(0.01)
    agent = sim.start_call(Caller(), url=fake_app.base + "/voice/agent-leg")
    assert agent.done.wait(20) and waiting.done.wait(20)
    assert waiting.result.bridged_at is not None and agent.result.bridged_at is not None
    exit_form = fake_app.hits("/voice/exit")[0]["form"]
    assert exit_form["QueueResult"] == "bridged"
    assert exit_form["DequeingCallSid"] == agent.sid
