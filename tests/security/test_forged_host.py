"""A forged Host (or X-Forwarded-*) header on any route changes no URL given to Twilio.

Before: one unsigned request with ``Host: attacker.example`` set the base of the next REST
redirect of a live call. Now every absolute URL (TwiML stream URL, REST redirect, dequeue,
call-back answer and status URLs) comes from the configured public URL only.
"""

from __future__ import annotations

import re
import time

from ivr.public_url import base_url
from tests.helpers import BASE, call_params, new_call_sid, post_signed, signature

from .conftest import TWILIO_ROUTES

EVIL = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example",
        "X-Forwarded-Proto": "https", "X-Original-Host": "attacker.example"}
SCAM = "公安局的警察说我涉嫌洗钱，让我把钱转到安全账户"


def forged_post(client, path, params):
    """Signed (over the public URL, as Twilio signs) but sent with a forged Host."""
    sig = signature(BASE + path, params)
    return client.post(path, data=params, base_url="http://attacker.example",
                       headers={**EVIL, "X-Twilio-Signature": sig})


def absolute_urls(text: str) -> list[str]:
    return re.findall(r"(?:https?|wss?)://[^\s\"'<>&]+", text)


def rest_urls(stub) -> list[str]:
    out = []
    for call in stub.calls:
        for key in ("Url", "StatusCallback"):
            if key in call["form"]:
                out.append(call["form"][key])
    return out


def test_every_voice_route_is_listed(app):
    voice = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/voice/")}
    assert voice == set(TWILIO_ROUTES)


def test_forged_host_on_every_route_changes_no_redirect_target(app, client, stub):
    svc = app.extensions["ivr"]
    # 1. the old attack: unsigned requests with a forged Host on every route of the app
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "x", rule.rule)
        for method in ("GET", "POST"):
            client.open(path, method=method, base_url="http://attacker.example", headers=EVIL,
                        data={"CallSid": new_call_sid()})
    # 2. a live call, every signed webhook sent with a forged Host
    sid = new_call_sid()
    incoming = forged_post(client, "/voice/incoming", call_params(sid))
    assert incoming.status_code == 200
    bodies = [incoming.get_data(as_text=True)]
    # 3. the caller says "人工" at the menu: REST redirect, made outside any request
    svc.speech_actions.on_speech(sid, "人工", True, True)
    # 4. ... and a scam description: REST redirect to the warning
    svc.speech_actions.on_speech(sid, SCAM, True, False)
    warning = forged_post(client, "/voice/scam-warning", call_params(sid))
    assert warning.status_code == 200
    bodies.append(warning.get_data(as_text=True))
    # 5. call-back chosen while waiting, then an agent accepts (REST call-back + status URL)
    cb_sid = new_call_sid()
    forged_post(client, "/voice/incoming", call_params(cb_sid, "+8613912340000",
                                                       StirVerstat="TN-Validation-Passed-A"))
    menu = forged_post(client, "/voice/menu?step=0", call_params(cb_sid, "+8613912340000",
                                                                 Digits="0"))
    bodies.append(menu.get_data(as_text=True))
    choice = forged_post(client, "/voice/wait/callback",
                         call_params(cb_sid, "+8613912340000", Digits="1"))
    assert choice.status_code == 200
    auth = {**EVIL, "Authorization": "Bearer agent-api-token"}
    for _ in range(2):
        accepted = client.post("/agent/api/accept", base_url="http://attacker.example",
                               headers=auth)
        assert accepted.status_code in (200, 503), accepted.data
        client.post("/agent/api/finish", base_url="http://attacker.example", headers=auth,
                    json={"disposition": "resolved"})
    for body in bodies:
        assert "attacker" not in body
        for url in absolute_urls(body):
            assert url.startswith(("http://localhost/", "ws://localhost/")), url
    targets = rest_urls(stub)
    assert any(u.startswith("http://localhost/voice/menu?") for u in targets), stub.calls
    assert "http://localhost/voice/scam-warning" in targets
    assert any(u.startswith("http://localhost/voice/bridge?agent=wang") for u in targets)
    assert any(u.startswith("http://localhost/voice/callback-status?") for u in targets)
    assert all(u.startswith("http://localhost/") for u in targets), targets


def test_a_worker_that_saw_no_request_redirects_to_the_public_url(app, stub):
    """Formerly 127.0.0.1:5000 until a request arrived; now the configured URL from the start."""
    svc = app.extensions["ivr"]
    client = app.test_client()
    sid = new_call_sid()
    assert post_signed(client, "/voice/incoming", call_params(sid)).status_code == 200
    fresh = base_url(svc.settings, svc.config)
    assert fresh == BASE
    svc.speech_actions.on_speech(sid, "人工", True, True)
    deadline = time.time() + 5
    while not rest_urls(stub) and time.time() < deadline:
        time.sleep(0.02)
    assert rest_urls(stub)[0].startswith(BASE + "/voice/menu?")
