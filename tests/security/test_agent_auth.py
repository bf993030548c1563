"""Console login: lockout by address and id (atomic), demo passwords outside dev mode, cookie
flags and lifetime, server-side sessions ended by logout and by a password change."""

from __future__ import annotations

import re
import threading
from types import SimpleNamespace

from ivr.routing.agents import hash_password
from ivr.routing.auth_store import LoginThrottle, ThrottleLimits
from tests.routing.conftest import DEMO_PASSWORDS, demo_agents, make_app


def csrf_of(client, address="127.0.0.1") -> str:
    page = client.get("/agent/login", environ_base={"REMOTE_ADDR": address})
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def try_login(client, agent, password, address="127.0.0.1"):
    return client.post("/agent/login", environ_base={"REMOTE_ADDR": address},
                       data={"agent": agent, "password": password,
                             "csrf_token": csrf_of(client, address)})


def app_for(redis_client, tmp_path, **kw):
    from tests.routing.conftest import TwilioStub

    return make_app(redis_client, TwilioStub(), tmp_path, **kw)


def test_lockout_by_address_stops_password_spraying(redis_client, tmp_path):
    app = app_for(redis_client, tmp_path)
    client = app.test_client()
    ids = ["wang", "chan", "li", "zhao", "qian"]
    limit = ThrottleLimits().per_address
    for i in range(limit):  # one password tried across ids: never 5 on any single id
        assert try_login(client, ids[i % len(ids)], "123456", "198.51.100.7").status_code == 401
    # the address is now locked, even for the right password of an id it never tried much
    assert try_login(client, "li", DEMO_PASSWORDS["li"], "198.51.100.7").status_code == 429
    # other addresses (the real agents) still log in
    assert try_login(app.test_client(), "li", DEMO_PASSWORDS["li"], "10.1.1.1").status_code == 302


def test_one_address_cannot_lock_an_agent_out_for_everyone(redis_client, tmp_path):
    app = app_for(redis_client, tmp_path)
    attacker = app.test_client()
    for _ in range(ThrottleLimits().per_agent_address + 3):
        try_login(attacker, "wang", "guess", "203.0.113.9")
    assert try_login(attacker, "wang", DEMO_PASSWORDS["wang"], "203.0.113.9").status_code == 429
    assert try_login(app.test_client(), "wang", DEMO_PASSWORDS["wang"],
                     "10.0.0.2").status_code == 302


def test_failures_are_counted_atomically(redis_client):
    limits = ThrottleLimits(per_address=10_000, per_agent_address=10_000, per_agent=10_000)
    throttle = LoginThrottle(redis_client, limits)

    def hammer():
        for _ in range(50):
            throttle.failed("wang", "192.0.2.1")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(redis_client.get("ivr:{auth}:fail:id:wang")) == 400
    assert 0 < redis_client.ttl("ivr:{auth}:fail:id:wang") <= limits.window_seconds


def test_demo_passwords_are_refused_outside_dev_mode(redis_client, tmp_path):
    prod = app_for(redis_client, tmp_path, dev_mode=False)
    client = prod.test_client()
    resp = try_login(client, "wang", DEMO_PASSWORDS["wang"])
    assert resp.status_code == 403
    assert client.get("/agent/api/queue").status_code == 401
    dev = app_for(redis_client, tmp_path, dev_mode=True)
    assert try_login(dev.test_client(), "wang", DEMO_PASSWORDS["wang"]).status_code == 302


def test_cookie_flags_and_lifetime(redis_client, tmp_path):
    app = app_for(redis_client, tmp_path)
    resp = try_login(app.test_client(), "chan", DEMO_PASSWORDS["chan"])
    cookie = resp.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Expires="):
        assert flag in cookie, cookie


def test_logout_ends_the_session_on_the_server(redis_client, tmp_path):
    app = app_for(redis_client, tmp_path)
    client = app.test_client()
    assert try_login(client, "chan", DEMO_PASSWORDS["chan"]).status_code == 302
    stolen = client.get_cookie("session").value  # e.g. copied off the agent's machine
    page = client.get("/agent/").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.get("/agent/api/queue").get_json()["agent"]["id"] == "chan"
    client.post("/agent/logout", data={"csrf_token": csrf})
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/agent/api/queue").status_code == 401


def test_a_password_change_ends_existing_sessions(redis_client, tmp_path):
    app = app_for(redis_client, tmp_path)
    client = app.test_client()
    assert try_login(client, "li", DEMO_PASSWORDS["li"]).status_code == 302
    assert client.get("/agent/api/queue").status_code == 200
    agents = demo_agents()
    li = agents.agent("li").model_copy(update={"password_hash": hash_password("new secret 1")})
    changed = agents.model_copy(update={"agents": [li if a.id == "li" else a
                                                   for a in agents.agents]})
    current = app.extensions["ivr"].config.current
    app.extensions["ivr"].config.current = SimpleNamespace(service=current.service,
                                                           agents=changed)
    assert client.get("/agent/api/queue").status_code == 401
