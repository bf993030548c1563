"""Twilio-facing hold, call-back and bridge routes with signed requests; the accept flow."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from ivr.routing import holding
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import QueueEntry

from .conftest import PUBLIC, QUEUE_SID, demo_agents, signed_post

CALLER = "+8613912345678"
HOTLINE = "+861095555"


def enqueue(app, sid, priority="elder", skill=None, waited=5.0, **ctx):
    with app.app_context():
        q = holding.call_queue()
        q.enqueue(QueueEntry(sid, priority, skill, time.time() - waited,
                             {"elder": priority == "elder", "caller_masked": "+86139******78",
                              **ctx}))
        return q


def session(redis_client, sid, dialect, mode="elder"):
    redis_client.set(f"ivr:{{call:{sid}}}:session",
                     json.dumps({"dialect": dialect, "voice_mode": mode, "meta": {}}))


def test_unsigned_wait_is_refused(app):
    resp = app.test_client().post("/voice/wait", data={"CallSid": "CA1"})
    assert resp.status_code == 403


def test_wait_says_our_position_and_estimate_in_the_callers_dialect(app, redis_client):
    enqueue(app, "CAfirst", "scam")
    enqueue(app, "CAyue", "elder", skill="cantonese")
    session(redis_client, "CAyue", "cantonese")
    resp = signed_post(app.test_client(), "/voice/wait",
                       {"CallSid": "CAyue", "QueuePosition": "7", "QueueTime": "5",
                        "From": CALLER})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    assert "你而家排第2位" in body and 'language="zh-HK"' in body
    assert "估计要等大约" in body
    assert '<Pause length="30"' in body and "<Gather" not in body  # no offer yet


def test_wait_defaults_to_mandarin_and_offers_call_back_after_the_wait(app):
    enqueue(app, "CAold", "normal", waited=200)
    body = signed_post(app.test_client(), "/voice/wait",
                       {"CallSid": "CAold", "From": CALLER}).get_data(as_text=True)
    assert "您现在排在第1位" in body and 'language="zh-CN"' in body
    assert "<Gather" in body and 'action="/voice/wait/callback"' in body
    assert "按1保留排队位置，稍后给您回电" in body


def test_estimate_uses_recent_handling_times_and_online_agents(app, redis_client):
    out = Outcomes(redis_client)
    for _ in range(3):
        out.handled("CAx", "wang", 120, "resolved")
    assert out.estimate_wait(3, 240) == 6  # 3 x 120 s, one agent (none online counts as one)
    out.heartbeat("wang")
    out.heartbeat("chan")
    assert out.estimate_wait(3, 240) == 3


def test_voice_catalog_audio_is_played_when_rendered(app):
    class Voices:
        def playables_for(self, parts, dialect, mode):
            self.seen = (list(parts), dialect, mode)
            return [SimpleNamespace(url=f"/audio/{i}.wav" if i == 0 else None, text=t)
                    for i, t in enumerate(parts)]

    voices = Voices()
    app.extensions["ivr"].extras["voices"] = voices
    enqueue(app, "CA1")
    body = signed_post(app.test_client(), "/voice/wait", {"CallSid": "CA1"}).get_data(
        as_text=True)
    assert "<Play>/audio/0.wav</Play>" in body and "预计等待大约" in body
    assert voices.seen[1:] == ("mandarin", "elder")


def test_call_back_keeps_the_place_and_calls_back_when_accepted(app, twilio_stub):
    q = enqueue(app, "CAcb", "normal", waited=300)
    enqueue(app, "CAlater", "normal", waited=10)
    client = app.test_client()
    body = signed_post(client, "/voice/wait/callback",
                       {"CallSid": "CAcb", "Digits": "1", "From": CALLER, "To": HOTLINE}
                       ).get_data(as_text=True)
    assert "<Leave" in body and "轮到您时我们会给您回电" in body
    body = signed_post(client, "/voice/queue-exit",
                       {"CallSid": "CAcb", "QueueResult": "leave"}).get_data(as_text=True)
    assert "<Hangup" in body
    with app.app_context():
        assert holding.on_call_completed("CAcb") == "kept"
        assert q.position("CAcb") == 1
        wang = demo_agents().agent("wang")
        with app.test_request_context():
            entry = holding.connect_next(wang)
    assert entry.call_sid == "CAcb" and entry.status == "calling_back"
    created = twilio_stub.posts("/Calls.json")
    assert len(created) == 1
    form = created[0]["form"]
    assert form["To"] == CALLER and form["From"] == HOTLINE
    assert form["Url"] == f"{PUBLIC}/voice/bridge?agent=wang&entry=CAcb"
    assert form["StatusCallback"] == f"{PUBLIC}/voice/callback-status?entry=CAcb"
    # the call-back is answered: bridge to wang's Twilio Client
    body = signed_post(client, "/voice/bridge?agent=wang&entry=CAcb",
                       {"CallSid": "CA" + "9" * 32}).get_data(as_text=True)
    assert "<Client>agent_wang</Client>" in body and "给您回电" in body


def test_accept_dequeues_that_caller_to_the_bridge(app, twilio_stub):
    enqueue(app, "CAnormal", "normal", waited=50)
    enqueue(app, "CAelder", "elder", waited=5)
    with app.test_request_context():
        entry = holding.connect_next(demo_agents().agent("li"))
    assert entry.call_sid == "CAelder" and entry.agent == "li"
    member = twilio_stub.posts("/Members/")
    assert len(member) == 1
    assert member[0]["path"].endswith(f"/Queues/{QUEUE_SID}/Members/CAelder.json")
    assert member[0]["form"]["Url"] == f"{PUBLIC}/voice/bridge?agent=li"
    body = signed_post(app.test_client(), "/voice/bridge?agent=li",
                       {"CallSid": "CAelder"}).get_data(as_text=True)
    assert "<Number>+8613800000003</Number>" in body
    assert 'action="/voice/bridge-done?agent=li"' in body
    with app.app_context():
        assert Outcomes(app.extensions["ivr"].redis).get("CAelder")["event"] == "answered"


def test_a_caller_who_is_gone_is_abandoned_and_the_next_one_is_taken(app, twilio_stub):
    enqueue(app, "CAgone", "scam")
    enqueue(app, "CAhere", "elder")
    twilio_stub.gone.add("CAgone")
    with app.test_request_context():
        q = holding.call_queue()
        entry = holding.connect_next(demo_agents().agent("wang"))
        assert entry.call_sid == "CAhere"
        assert q.get("CAgone") is None
        assert Outcomes(q.r).get("CAgone")["reason"] == "gone"


def test_a_rest_outage_puts_the_caller_back_in_place(app, twilio_stub):
    q = enqueue(app, "CA1", "elder")
    enqueue(app, "CA2", "normal")
    twilio_stub.failing = True
    with app.test_request_context(), pytest.raises(holding.DispatchError):
        holding.connect_next(demo_agents().agent("wang"))
    assert q.position("CA1") == 1 and q.held_by("wang") is None


def test_unanswered_agent_sends_the_caller_back_to_their_place(app):
    q = enqueue(app, "CA1", "elder")
    enqueue(app, "CA2", "elder")
    with app.test_request_context():
        holding.connect_next(demo_agents().agent("wang"))
    body = signed_post(app.test_client(), "/voice/bridge-done?agent=wang",
                       {"CallSid": "CA1", "DialCallStatus": "no-answer"}).get_data(as_text=True)
    assert "<Enqueue" in body and 'waitUrl="/voice/wait"' in body and ">hotline<" in body
    assert q.position("CA1") == 1 and q.held_by("wang") is None


def test_hangup_while_waiting_removes_and_counts_abandoned(app, redis_client):
    q = enqueue(app, "CA1", "elder", waited=42)
    body = signed_post(app.test_client(), "/voice/queue-exit",
                       {"CallSid": "CA1", "QueueResult": "hangup", "QueueTime": "42"}
                       ).get_data(as_text=True)
    assert "<Hangup" not in body
    assert q.position("CA1") is None and len(q) == 0
    rec = Outcomes(redis_client).get("CA1")
    assert rec["event"] == "abandoned" and float(rec["wait_seconds"]) >= 42
    with app.app_context():
        assert holding.on_call_completed("CA1") == "absent"  # the status callback: no-op
