"""Gather semantics as Twilio documents them."""

from __future__ import annotations

from ivr.sim.caller import Caller, ScriptedCaller, Step
from ivr.sim.clock import say_seconds

PROMPT = "请按一"  # 3 chars


def _app(fake_app, gather_attrs: str, after: str = "<Say>next verb</Say>") -> None:
    fake_app.route("/voice/incoming", f"<Response><Gather {gather_attrs}><Say>{PROMPT}</Say>"
                                      f"</Gather>{after}</Response>")
    fake_app.route("/voice/menu", "<Response><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")


def _caller(*steps: dict) -> ScriptedCaller:
    return ScriptedCaller("+8613700000000", [Step.from_dict(s) for s in steps])


def test_no_input_falls_through_to_next_verb(fake_app, make_sim):
    _app(fake_app, 'action="/voice/menu" timeout="8"')
    result = make_sim().place_call(Caller())
    assert result.heard == [PROMPT, "next verb"]
    assert fake_app.hits("/voice/menu") == []
    gather_empty = next(e for e in result.events if e["kind"] == "gather_empty")
    assert abs(gather_empty["t"] - (say_seconds(PROMPT) + 8)) < 1e-3


def test_timeout_with_action_on_empty_result_posts_empty_digits(fake_app, make_sim):
    _app(fake_app, 'action="menu" timeout="6" actionOnEmptyResult="true"')
    result = make_sim().place_call(Caller())
    hit = fake_app.hits("/voice/menu")
    assert len(hit) == 1 and hit[0]["form"]["Digits"] == ""
    assert "next verb" not in result.heard
    assert abs(result.duration - (say_seconds(PROMPT) + 6)) < 1e-3


def test_num_digits_submits_as_soon_as_reached(fake_app, make_sim):
    _app(fake_app, 'action="/voice/menu" numDigits="2"')
    result = make_sim().place_call(_caller({"press": "123", "after": 1.0}))
    form = fake_app.hits("/voice/menu")[0]["form"]
    assert form["Digits"] == "12" and form["msg"] == "Gather End"
    inp = next(e for e in result.events if e["kind"] == "gather_input")
    assert abs(inp["t"] - (say_seconds(PROMPT) + 1.0 + 0.3)) < 1e-3


def test_finish_on_key_ends_input_and_is_not_included(fake_app, make_sim):
    _app(fake_app, 'action="/voice/menu" finishOnKey="#"')
    make_sim().place_call(_caller({"press": "42#"}))
    form = fake_app.hits("/voice/menu")[0]["form"]
    assert form["Digits"] == "42" and form["FinishedOnKey"] == "#"


def test_partial_digits_submit_after_inter_digit_timeout(fake_app, make_sim):
    _app(fake_app, 'action="/voice/menu" numDigits="4" timeout="5"')
    result = make_sim().place_call(_caller({"press": "7", "after": 0.5}))
    assert fake_app.hits("/voice/menu")[0]["form"]["Digits"] == "7"
    inp = next(e for e in result.events if e["kind"] == "gather_input")
    assert abs(inp["t"] - (say_seconds(PROMPT) + 0.5 + 5)) < 1e-3


def test_barge_in_cuts_the_prompt_short(fake_app, make_sim):
    long_prompt = "您好" * 30
    fake_app.route("/voice/incoming", f'<Response><Gather action="/voice/menu" numDigits="1">'
                                      f"<Say>{long_prompt}</Say><Say>never heard</Say>"
                                      "</Gather></Response>")
    fake_app.route("/voice/menu", "<Response><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    result = make_sim().place_call(_caller({"press": "0", "after": 2.0, "barge_in": True}))
    assert "never heard" not in result.heard
    inp = next(e for e in result.events if e["kind"] == "gather_input")
    assert abs(inp["t"] - 2.0) < 1e-3


def test_gather_without_action_posts_to_current_document(fake_app, make_sim):
    calls = []

    def incoming(form):
        calls.append(form.get("Digits"))
        if form.get("Digits"):
            return "<Response><Hangup/></Response>"
        return '<Response><Gather numDigits="1"><Say>x</Say></Gather></Response>'

    fake_app.route("/voice/incoming", incoming)
    fake_app.route("/voice/status", "<Response/>")
    make_sim().place_call(_caller({"press": "5"}))
    assert calls == [None, "5"]


def test_digits_outside_gather_are_ignored(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Say>hello there</Say><Gather timeout="3" '
                                      'action="/voice/menu"/></Response>')
    fake_app.route("/voice/menu", "<Response><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim()
    caller = Caller()
    caller.on_start = lambda call: call.schedule_digit("9", 0.5)  # type: ignore[method-assign]
    result = sim.place_call(caller)
    assert fake_app.hits("/voice/menu") == []
    assert any(e["kind"] == "dtmf" and e["collected"] is False for e in result.events)
