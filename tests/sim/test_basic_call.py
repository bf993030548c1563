"""A call end to end against a fake app: signed requests, relative URLs, clock, callbacks."""

from __future__ import annotations

from ivr.sim.caller import Caller, ScriptedCaller, Step
from ivr.sim.clock import say_seconds

from .conftest import ACCOUNT, wav_route


def test_first_request_is_signed_and_shaped_like_twilio(fake_app, make_sim):
    fake_app.route("/voice/incoming", "<Response><Say>你好</Say><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim()
    result = sim.place_call(Caller())
    first = fake_app.requests[0]
    assert first["path"] == "/voice/incoming" and first["signed"]
    form = first["form"]
    assert form["CallSid"].startswith("CA") and len(form["CallSid"]) == 34
    int(form["CallSid"][2:], 16)
    assert form["AccountSid"] == ACCOUNT
    assert form["CallStatus"] == "ringing" and form["Direction"] == "inbound"
    assert form["ApiVersion"] == "2010-04-01"
    assert form["Caller"] == form["From"] and form["Called"] == form["To"]
    assert result.ended_by == "app_hangup"
    assert result.heard == ["你好"]


def test_status_callback_at_end_with_duration(fake_app, make_sim):
    fake_app.route("/voice/incoming", "<Response><Pause length=\"7\"/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(Caller())
    status = fake_app.hits("/voice/status")
    assert len(status) == 1 and status[0]["signed"]
    assert status[0]["form"]["CallStatus"] == "completed"
    assert status[0]["form"]["CallDuration"] == "7"
    assert result.ended_by == "end_of_twiml"


def test_relative_urls_resolve_against_current_document(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Redirect method="GET">menu/a?x=1</Redirect>'
                                      "</Response>")
    fake_app.route("/voice/menu/a", '<Response><Redirect>../b</Redirect></Response>')
    fake_app.route("/voice/b", "<Response><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    make_sim().place_call(Caller())
    paths = [(r["path"], r["method"]) for r in fake_app.requests]
    assert paths[:3] == [("/voice/incoming", "POST"), ("/voice/menu/a", "GET"),
                         ("/voice/b", "POST")]
    get = fake_app.requests[1]
    assert get["args"]["x"] == "1" and get["args"]["CallSid"].startswith("CA")
    assert get["signed"]
    assert all(r["signed"] for r in fake_app.requests)  # incl. the status callback


def test_virtual_clock_counts_say_play_pause(fake_app, make_sim):
    text = "欢迎致电本行客服热线" * 2  # 20 characters at 130/min
    fake_app.route("/voice/incoming", f"<Response><Say>{text}</Say><Play>/audio/a.wav</Play>"
                                      '<Pause length="3"/><Hangup/></Response>')
    fake_app.route("/audio/a.wav", lambda _: wav_route(2.5))
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(Caller())
    expected = say_seconds(text) + 2.5 + 3
    assert abs(result.duration - expected) < 1e-6
    kinds = [(e["kind"], e["t"]) for e in result.events if e["kind"] in ("say", "play", "pause")]
    assert kinds == [("say", 0.0), ("play", round(say_seconds(text), 3)),
                     ("pause", round(say_seconds(text) + 2.5, 3))]


def test_bad_signature_is_visible_as_app_error(fake_app, make_sim):
    fake_app.route("/voice/incoming", "<Response><Hangup/></Response>")
    sim = make_sim(auth_token="wrong-token")
    result = sim.place_call(Caller())
    assert result.ended_by == "app_error"
    assert "HTTP 403" in result.errors[0]


def test_scripted_hangup_after_ends_call(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Pause length="60"/></Response>')
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(ScriptedCaller("+8613900000000", [], hangup_after=12))
    assert result.ended_by == "caller_hangup"
    assert abs(result.duration - 12) < 1e-6
    assert fake_app.hits("/voice/status")[0]["form"]["CallDuration"] == "12"
    assert Step.from_dict({"press": 1}).press == "1"
