"""Enqueue/waitUrl loop, REST dequeue and call update via twilio-python, hang-up mid-queue."""

from __future__ import annotations

import threading

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.sim.caller import Caller, ScriptedCaller, Step
from ivr.telephony.rest import CallControl, make_client

from .conftest import ACCOUNT, TOKEN

ENQUEUE = ('<Response><Say>请稍候</Say><Enqueue waitUrl="/voice/wait" '
           'action="/voice/queue-exit">hotline</Enqueue><Say>after queue</Say></Response>')


def _control(sim) -> CallControl:
    return CallControl(make_client(ACCOUNT, TOKEN, api_base=sim.rest_base))


def _base_routes(fake_app) -> None:
    fake_app.route("/voice/incoming", ENQUEUE)
    fake_app.route("/voice/queue-exit", "<Response><Say>exit doc</Say></Response>")
    fake_app.route("/voice/status", "<Response/>")
    fake_app.route("/voice/agent", "<Response><Dial><Client>agent7</Client></Dial></Response>")


def test_wait_url_loops_with_queue_parameters_then_rest_dequeue(fake_app, make_sim):
    sim = make_sim()
    control = _control(sim)
    _base_routes(fake_app)
    waits: list[dict[str, str]] = []

    def wait(form):
        waits.append(form)
        if len(waits) == 3:  # an agent accepts while the caller hears the 3rd wait prompt
            qsid = control.queue_sid("hotline")
            assert qsid == form["QueueSid"]
            control.dequeue(qsid, form["CallSid"], fake_app.base + "/voice/agent")
        return '<Response><Say>您前面还有人</Say><Pause length="10"/></Response>'

    fake_app.route("/voice/wait", wait)
    result = sim.place_call(Caller())
    assert len(waits) == 3
    assert waits[0]["QueuePosition"] == "1" and waits[0]["CurrentQueueSize"] == "1"
    assert waits[0]["QueueSid"].startswith("QU") and "AvgQueueTime" in waits[0]
    assert [int(w["QueueTime"]) for w in waits] == sorted(int(w["QueueTime"]) for w in waits)
    assert int(waits[2]["QueueTime"]) > int(waits[0]["QueueTime"])
    exit_hit = fake_app.hits("/voice/queue-exit")
    assert exit_hit[0]["form"]["QueueResult"] == "redirected"
    assert "exit doc" not in result.heard and "after queue" not in result.heard
    assert result.enqueued_at is not None and result.bridged_at is not None
    assert result.bridged_at > result.enqueued_at
    assert any(e["kind"] == "bridged" and e["to"] == "Client:agent7" for e in result.events)
    assert sim.queues.all()[0].members == []
    paths = [r["path"].rsplit("/", 2)[-2:] for r in sim.rest.requests]
    assert ["Queues.json"] in [p[-1:] for p in paths]


def test_rest_call_update_redirects_live_call(fake_app, make_sim):
    sim = make_sim(speed=200.0)
    control = _control(sim)
    started = threading.Event()

    def incoming(form):
        started.set()
        return '<Response><Say>long menu</Say><Pause length="600"/></Response>'

    fake_app.route("/voice/incoming", incoming)
    fake_app.route("/voice/intent", "<Response><Say>redirected by speech</Say></Response>")
    fake_app.route("/voice/status", "<Response/>")
    call = sim.start_call(Caller())
    assert started.wait(5)
    for _ in range(500):  # redirect while the caller is in the long pause
        if call.log.first("pause"):
            break
        threading.Event().wait(0.01)
    control.redirect(call.sid, fake_app.base + "/voice/intent")
    assert call.done.wait(10)
    result = call.result
    assert result.heard == ["long menu", "redirected by speech"]
    assert result.duration < 600
    update = [r for r in sim.rest.requests if r["path"].endswith(f"Calls/{call.sid}.json")]
    assert update[0]["form"]["Url"].endswith("/voice/intent")
    assert update[0]["form"]["Method"] == "POST"


def test_rest_hangup_and_errors_like_twilio(fake_app, make_sim):
    sim = make_sim(speed=200.0)
    control = _control(sim)
    fake_app.route("/voice/incoming", '<Response><Pause length="600"/></Response>')
    fake_app.route("/voice/status", "<Response/>")
    call = sim.start_call(Caller())
    for _ in range(100):
        if sim.live_call(call.sid) and call.log.first("pause"):
            break
        threading.Event().wait(0.02)
    control.hangup(call.sid)
    assert call.done.wait(10)
    assert call.result.ended_by == "rest_completed"
    with pytest.raises(TwilioRestException) as info:
        control.redirect(call.sid, "http://x/y")
    assert info.value.status == 400
    with pytest.raises(TwilioRestException) as info:
        control.redirect("CA" + "0" * 32, "http://x/y")
    assert info.value.status == 404
    bad = CallControl(make_client(ACCOUNT, "wrong", api_base=sim.rest_base))
    with pytest.raises(TwilioException, match="401"):  # list pages raise the base class
        bad.queue_sid("hotline")
    with pytest.raises(TwilioRestException) as info:
        bad.redirect(call.sid, "http://x/y")
    assert info.value.status == 401


def test_hangup_mid_queue_posts_queue_result_and_status(fake_app, make_sim):
    _base_routes(fake_app)
    fake_app.route("/voice/wait", '<Response><Say>请稍候</Say><Pause length="20"/></Response>')
    caller = ScriptedCaller("+8613600000000", [Step.from_dict(
        {"hangup": True, "after": 45, "when": "queue"})])
    sim = make_sim()
    result = sim.place_call(caller)
    assert result.ended_by == "caller_hangup"
    exit_form = fake_app.hits("/voice/queue-exit")[0]["form"]
    assert exit_form["QueueResult"] == "hangup"
    assert exit_form["CallStatus"] == "completed"
    assert int(exit_form["QueueTime"]) == 45
    status = fake_app.hits("/voice/status")[0]["form"]
    assert status["CallStatus"] == "completed"
    assert abs(int(status["CallDuration"]) - (result.enqueued_at + 45)) <= 1
    assert sim.queues.all()[0].members == []


def test_leave_runs_the_action_document(fake_app, make_sim):
    _base_routes(fake_app)
    fake_app.route("/voice/wait", "<Response><Say>no agents</Say><Leave/></Response>")
    result = make_sim().place_call(Caller())
    assert fake_app.hits("/voice/queue-exit")[0]["form"]["QueueResult"] == "leave"
    assert result.heard[-1] == "exit doc"


def test_wait_document_rejects_verbs_twilio_refuses(fake_app, make_sim):
    _base_routes(fake_app)
    fake_app.route("/voice/wait", "<Response><Dial>123</Dial></Response>")
    result = make_sim().place_call(Caller())
    assert result.ended_by == "app_error"
    assert "<Dial>" in result.errors[0] and "waitUrl" in result.errors[0]


def test_outbound_call_via_rest_is_answered(fake_app, make_sim):
    sim = make_sim()
    fake_app.route("/voice/callback", "<Response><Say>我们回电了</Say></Response>")
    fake_app.route("/voice/cb-status", "<Response/>")
    control = _control(sim)
    sid = control.call("+8613500000000", "+864008000000", fake_app.base + "/voice/callback",
                       status_callback=fake_app.base + "/voice/cb-status")
    sim.wait_all(10)
    first = fake_app.hits("/voice/callback")[0]["form"]
    assert first["CallSid"] == sid and first["Direction"] == "outbound-api"
    assert first["To"] == "+8613500000000" and first["From"] == "+864008000000"
    assert fake_app.hits("/voice/cb-status")[0]["form"]["CallStatus"] == "completed"
