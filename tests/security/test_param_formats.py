"""Every parameter the service reads must fit its format; others are ignored (Twilio adds some).

Twilio's signature covers ``key + value`` concatenated, so ``Caller=+86...Digits0`` signs exactly
like ``Caller=+86...`` + ``Digits=0``: the boundary shift turned a caller's 0 into silence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.telephony.params import fits
from tests.helpers import BASE, call_params, new_call_sid, post_signed, signature


def start(client) -> str:
    sid = new_call_sid()
    assert post_signed(client, "/voice/incoming", call_params(sid)).status_code == 200
    return sid


def test_a_boundary_shift_keeps_the_signature_but_is_refused(app, client):
    sid = start(client)
    honest = call_params(sid, Digits="0")
    shifted = {k: v for k, v in honest.items() if k != "Digits"}
    shifted["Caller"] = honest.get("Caller", honest["From"]) + "Digits0"
    honest["Caller"] = honest["From"]
    # same signature for both (that is the weakness of the scheme)
    assert signature(BASE + "/voice/menu?step=0", honest) == signature(
        BASE + "/voice/menu?step=0", shifted)
    refused = post_signed(client, "/voice/menu?step=0", shifted)
    assert refused.status_code == 400
    state = app.extensions["ivr"].sessions.load(sid).state
    assert state.step == 0 and state.silences == 0  # the refused request changed nothing
    ok = post_signed(client, "/voice/menu?step=0", honest)
    assert ok.status_code == 200 and ET.fromstring(ok.data).find("Enqueue") is not None


@pytest.mark.parametrize("change", [
    {"CallSid": "CA" + "a" * 32 + "\n"},     # trailing newline ($ would have matched)
    {"CallSid": "CA" + "a" * 31},
    {"From": "+8613912345678\nX"},
    {"To": "+86 139"},
    {"Digits": "1\n"},
    {"Digits": "١"},                          # an Arabic-Indic one: not a phone key
    {"AccountSid": "AC123"},
    {"CallStatus": "in-progress;drop"},
])
def test_malformed_values_get_400_and_change_nothing(app, client, redis_client, change):
    sid = start(client)
    before = app.extensions["ivr"].sessions.load(sid).to_json()
    params = {**call_params(sid, Digits="1"), **change}
    resp = post_signed(client, "/voice/menu?step=0", params)
    assert resp.status_code == 400
    assert app.extensions["ivr"].sessions.load(sid).to_json() == before


@pytest.mark.parametrize("query", ["step=0&intent=Human Agent", "step=0&intent=a&intent=b",
                                   "step=0&intent=human_agent%0A"])
def test_malformed_query_gets_400(client, query):
    sid = start(client)
    assert post_signed(client, f"/voice/menu?{query}",
                       call_params(sid, Digits="1")).status_code == 400


def test_repeated_parameter_is_refused(client):
    sid = start(client)
    from werkzeug.datastructures import MultiDict

    params = MultiDict([*call_params(sid).items(), ("Digits", "0"), ("Digits", "1")])
    sig = signature(BASE + "/voice/menu?step=0", params)
    resp = client.post("/voice/menu?step=0", data=params, headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 400


def test_unread_parameters_are_ignored_and_withheld_numbers_still_served(client):
    sid = new_call_sid()
    params = call_params(sid, "anonymous", FutureTwilioParam="x\ny", CallerName="王 阿姨",
                         StirVerstat="TN-Validation-Passed-A")
    resp = post_signed(client, "/voice/incoming", params)
    assert resp.status_code == 200 and ET.fromstring(resp.data).find("Gather") is not None


def test_fallback_still_answers_a_person_with_odd_values(client):
    resp = post_signed(client, "/voice/fallback", call_params("CAnot-a-sid", ErrorCode="11200"))
    assert resp.status_code == 200 and b"<Enqueue" in resp.data


@pytest.mark.parametrize("name, value, ok", [
    ("From", "+8613912345678", True), ("From", "client:agent_wang", True),
    ("From", "sip:alice@example.com", True), ("From", "Restricted", True), ("From", "", True),
    ("From", "+86139Digits0", False), ("Digits", "*#0", True), ("Digits", "0 ", False),
    ("CallSid", "CA" + "f" * 32, True), ("CallSid", "AC" + "f" * 32, False),
    ("QueueResult", "hangup", True), ("QueueResult", "hangup ", False),
    ("DialCallStatus", "answered", True),
])
def test_formats(name, value, ok):
    assert fits("form", name, value) is ok
