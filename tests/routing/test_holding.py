"""Twilio-facing hold, call-back and bridge routes with signed requests; the accept flow."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from ivr.routing import dispatch
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import QueueEntry
from ivr.services import get_services
from ivr.speech.numbers import chinese_number

from .conftest import PUBLIC, QUEUE_SID, demo_agents, signed_post

CALLER = "+8613912345678"
HOTLINE = "+861095555"
VERIFIED = "TN-Validation-Passed-A"
SID_OLD = "CA149603e6c03516362a8da23f624db945"
SID_YUE = "CA338950d9c045e30e626c25e22f2d7776"
SID_GONE = "CA50c1f58be7f5e47e0f53d64c094783c2"
SID_HERE = "CA6c92285fa6d3e827b198d120ea3ac674"
SID_ELDER = "CA77d6050e94424c990457b09d8907e812"
SID_FIRST = "CA8b04d5e3775d298e78455efc5ca404d5"
SID_X = "CA9dd4e461268c8034f5c8564e155c67a6"
SID_LATER = "CAc18788c2f274c779da72d9854ea4bfbf"
SID_1 = "CAc4ca4238a0b923820dcc509a6f75849b"
SID_2 = "CAc81e728d9d4c2f636f067f89cc14862c"
SID_CB = "CAd0d7fdb6977b26929fb68c6083c0b439"
SID_NORMAL = "CAfea087517c26fadd409bd4b9dc642555"


def enqueue(app, sid, priority="elder", skill=None, waited=5.0, **ctx):
    with app.app_context():
        q = get_services().queue
        q.enqueue(QueueEntry(sid, priority, skill, time.time() - waited,
                             {"elder": priority == "elder", "caller_masked": "+86139******78",
                              **ctx}))
        return q


def session(redis_client, sid, dialect, mode="elder"):
    redis_client.set(f"ivr:{{call:{sid}}}:session",
                     json.dumps({"dialect": dialect, "voice_mode": mode, "meta": {}}))


def test_unsigned_wait_is_refused(app):
    resp = app.test_client().post("/voice/wait", data={"CallSid": SID_1})
    assert resp.status_code == 403


def test_wait_says_our_position_and_estimate_in_the_callers_dialect(app, redis_client):
    enqueue(app, SID_FIRST, "scam")
    enqueue(app, SID_YUE, "elder", skill="cantonese")
    session(redis_client, SID_YUE, "cantonese")
    resp = signed_post(app.test_client(), "/voice/wait",
                       {"CallSid": SID_YUE, "QueuePosition": "7", "QueueTime": "5",
                        "From": CALLER})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    assert "你前面仲有一位。" in body and 'language="zh-HK"' in body  # one caller ahead
    assert "估计要等" in body
    assert '<Pause length="30"' in body and "<Gather" not in body  # no offer yet


def test_wait_defaults_to_mandarin_and_offers_call_back_after_the_wait(app):
    enqueue(app, SID_OLD, "normal", waited=200)
    body = signed_post(app.test_client(), "/voice/wait",
                       {"CallSid": SID_OLD, "From": CALLER,
                        "StirVerstat": VERIFIED}).get_data(as_text=True)
    assert "下一位就是您" in body and 'language="zh-CN"' in body
    assert "<Gather" in body and 'action="/voice/wait/callback"' in body
    assert "按1保留排队位置，稍后给您回电" in body


def test_estimate_uses_recent_handling_times_and_online_agents(app, redis_client):
    out = Outcomes(redis_client)
    for _ in range(3):
        out.handled(SID_X, "wang", 120, "resolved")
    assert out.estimate_wait(3, 240) == 6  # 3 x 120 s, one agent (none online counts as one)
    out.heartbeat("wang")
    out.heartbeat("chan")
    assert out.estimate_wait(3, 240) == 3


def test_position_and_estimate_are_played_from_prerendered_pieces(app):
    class Voices:
        def __init__(self, rendered):
            self.rendered = rendered

        def playables_for(self, parts, dialect, mode):
            self.seen = (list(parts), dialect, mode)
            return [SimpleNamespace(url=f"/audio/{i}.wav" if self.rendered else None,
                                    text=chinese_number(int(t), counting=True)
                                    if t.isdigit() else t) for i, t in enumerate(parts)]

    enqueue(app, SID_FIRST, "scam")
    enqueue(app, SID_1)
    enqueue(app, SID_2)
    for rendered in (True, False):
        voices = Voices(rendered)
        app.extensions["ivr"].voices = voices
        body = signed_post(app.test_client(), "/voice/wait", {"CallSid": SID_2}).get_data(
            as_text=True)
        parts, dialect, mode = voices.seen
        assert parts[:3] == ["您前面还有", "2", "位。"] and parts[3] == "预计等待"
        assert (dialect, mode) == ("mandarin", "elder")
        if rendered:  # every piece is audio, none is said by <Say>
            assert body.count("<Play>") == len(parts) and "<Say" not in body
        else:  # not rendered yet: one <Say> of the whole, never audio and speech mixed
            assert "<Play>" not in body and "您前面还有两位。预计等待" in body


def test_call_back_keeps_the_place_and_calls_back_when_accepted(app, twilio_stub):
    q = enqueue(app, SID_CB, "normal", waited=300)
    enqueue(app, SID_LATER, "normal", waited=10)
    client = app.test_client()
    body = signed_post(client, "/voice/wait/callback",
                       {"CallSid": SID_CB, "Digits": "1", "From": CALLER, "To": HOTLINE,
                        "StirVerstat": VERIFIED}
                       ).get_data(as_text=True)
    assert "<Leave" in body and "轮到您时我们会给您回电" in body
    body = signed_post(client, "/voice/queue-exit",
                       {"CallSid": SID_CB, "QueueResult": "leave"}).get_data(as_text=True)
    assert "<Hangup" in body
    with app.app_context():
        assert dispatch.on_call_completed(get_services(), SID_CB) == "kept"
        assert q.position(SID_CB) == 1
        wang = demo_agents().agent("wang")
        with app.test_request_context():
            entry = dispatch.connect_next(get_services(), wang)
    assert entry.call_sid == SID_CB and entry.status == "calling_back"
    created = twilio_stub.posts("/Calls.json")
    assert len(created) == 1
    form = created[0]["form"]
    assert form["To"] == CALLER and form["From"] == HOTLINE
    assert form["Url"] == f"{PUBLIC}/voice/bridge?agent=wang&entry={SID_CB}"
    assert form["StatusCallback"] == f"{PUBLIC}/voice/callback-status?entry={SID_CB}"
    # the call-back is answered: bridge to wang's Twilio Client
    body = signed_post(client, "/voice/bridge?agent=wang&entry=CAd0d7fdb6977b26929fb68c6083c0b439",
                       {"CallSid": "CA" + "9" * 32}).get_data(as_text=True)
    assert "<Client>agent_wang</Client>" in body and "给您回电" in body


def test_accept_dequeues_that_caller_to_the_bridge(app, twilio_stub):
    enqueue(app, SID_NORMAL, "normal", waited=50)
    enqueue(app, SID_ELDER, "elder", waited=5)
    with app.test_request_context():
        entry = dispatch.connect_next(get_services(), demo_agents().agent("li"))
    assert entry.call_sid == SID_ELDER and entry.agent == "li"
    member = twilio_stub.posts("/Members/")
    assert len(member) == 1
    assert member[0]["path"].endswith(f"/Queues/{QUEUE_SID}/Members/{SID_ELDER}.json")
    assert member[0]["form"]["Url"] == f"{PUBLIC}/voice/bridge?agent=li"
    body = signed_post(app.test_client(), "/voice/bridge?agent=li",
                       {"CallSid": SID_ELDER}).get_data(as_text=True)
    assert "<Number>+8613800000003</Number>" in body
    assert 'action="/voice/bridge-done?agent=li"' in body
    with app.app_context():
        assert Outcomes(app.extensions["ivr"].redis).get(SID_ELDER)["event"] == "answered"


def test_a_caller_who_is_gone_is_abandoned_and_the_next_one_is_taken(app, twilio_stub):
    enqueue(app, SID_GONE, "scam")
    enqueue(app, SID_HERE, "elder")
    twilio_stub.gone.add(SID_GONE)
    with app.test_request_context():
        q = get_services().queue
        entry = dispatch.connect_next(get_services(), demo_agents().agent("wang"))
        assert entry.call_sid == SID_HERE
        assert q.get(SID_GONE) is None
        assert Outcomes(q.r).get(SID_GONE)["reason"] == "gone"


def test_a_rest_outage_puts_the_caller_back_in_place(app, twilio_stub):
    q = enqueue(app, SID_1, "elder")
    enqueue(app, SID_2, "normal")
    twilio_stub.failing = True
    with app.test_request_context(), pytest.raises(dispatch.DispatchError):
        dispatch.connect_next(get_services(), demo_agents().agent("wang"))
    assert q.position(SID_1) == 1 and q.held_by("wang") is None


def test_unanswered_agent_sends_the_caller_back_to_their_place(app):
    q = enqueue(app, SID_1, "elder")
    enqueue(app, SID_2, "elder")
    with app.test_request_context():
        dispatch.connect_next(get_services(), demo_agents().agent("wang"))
    body = signed_post(app.test_client(), "/voice/bridge-done?agent=wang",
                       {"CallSid": SID_1, "DialCallStatus": "no-answer"}).get_data(as_text=True)
    assert "<Enqueue" in body and 'waitUrl="/voice/wait"' in body and ">hotline<" in body
    assert q.position(SID_1) == 1 and q.held_by("wang") is None


def test_hangup_while_waiting_removes_and_counts_abandoned(app, redis_client):
    q = enqueue(app, SID_1, "elder", waited=42)
    body = signed_post(app.test_client(), "/voice/queue-exit",
                       {"CallSid": SID_1, "QueueResult": "hangup", "QueueTime": "42"}
                       ).get_data(as_text=True)
    assert "<Hangup" not in body
    assert q.position(SID_1) is None and len(q) == 0
    rec = Outcomes(redis_client).get(SID_1)
    assert rec["event"] == "abandoned" and float(rec["wait_seconds"]) >= 42
    with app.app_context():
        # the status callback: no-op
        assert dispatch.on_call_completed(get_services(), SID_1) == "absent"


def test_a_caller_reaching_the_bridge_while_queued_again_leaves_the_queue(app, twilio_stub):
    """After an ambiguous timeout the caller was put back, yet Twilio had dequeued them: once
    they reach the bridge no other agent may be handed the same caller."""
    enqueue(app, SID_NORMAL, "normal", waited=5)
    body = signed_post(app.test_client(), "/voice/bridge?agent=li",
                       {"CallSid": SID_NORMAL}).get_data(as_text=True)
    assert "<Dial" in body
    with app.app_context():
        assert get_services().queue.get(SID_NORMAL) is None
        assert dispatch.connect_next(get_services(), demo_agents().agent("wang")) is None
