"""The agent JSON API: token and session auth, CSRF, accept and finish, login throttling."""

from __future__ import annotations

import re
import time

from ivr.routing.agents import token_digest
from ivr.routing.auth_store import ThrottleLimits
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import QueueEntry
from ivr.services import get_services

from .conftest import API_TOKEN, DEMO_PASSWORDS, demo_agents, make_app


def add(app, sid, priority="elder", **ctx):
    with app.app_context():
        get_services().queue.enqueue(QueueEntry(sid, priority, None, time.time() - 3, ctx))


def login(client, agent="wang", address="127.0.0.1"):
    env = {"REMOTE_ADDR": address}
    page = client.get("/agent/login", environ_base=env).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/agent/login", data={"agent": agent, "password": DEMO_PASSWORDS[agent],
                                             "csrf_token": csrf}, environ_base=env)
    assert resp.status_code == 302
    page = client.get("/agent/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_api_needs_auth(app):
    client = app.test_client()
    assert client.get("/agent/api/queue").status_code == 401
    bad = client.get("/agent/api/queue", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert client.get("/agent/").status_code == 302


def test_shared_token_acts_only_as_its_configured_agent(app, twilio_stub):
    add(app, "CA1", "elder", reason="elder_direct", flags=["watch_list"])
    client = app.test_client()
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    data = client.get("/agent/api/queue", headers=auth).get_json()
    assert data["total"] == 1 and data["sizes"]["elder"] == 1
    assert data["entries"][0]["context"]["flags"] == ["watch_list"]
    assert data["agent"]["id"] == "chan"  # the agent IVR_AGENT_API_AGENT names
    # naming another agent is refused: the shared token cannot act as anyone else
    other = client.post("/agent/api/accept", headers={**auth, "X-Agent-Id": "wang"})
    assert other.status_code == 401
    assert client.post("/agent/api/finish", json={"agent": "li"}, headers=auth).status_code == 401
    resp = client.post("/agent/api/accept", headers=auth)
    assert resp.status_code == 200
    assert resp.get_json()["entry"]["call_sid"] == "CA1"
    assert resp.get_json()["entry"]["agent"] == "chan"
    assert resp.get_json()["entry"]["context"]["reason"] == "elder_direct"
    assert client.post("/agent/api/accept", headers=auth).status_code == 409
    done = client.post("/agent/api/finish", json={"disposition": "resolved"}, headers=auth)
    assert done.status_code == 200 and done.get_json()["finished"] == "CA1"
    assert Outcomes(app.extensions["ivr"].redis).get("CA1")["disposition"] == "resolved"
    assert client.post("/agent/api/accept", headers=auth).get_json() == {"entry": None}


def test_shared_token_without_a_configured_agent_is_read_only(redis_client, twilio_stub,
                                                              tmp_path):
    app = make_app(redis_client, twilio_stub, tmp_path, shared_agent=None)
    add(app, "CA1")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert client.get("/agent/api/queue", headers=auth).get_json()["total"] == 1
    assert client.post("/agent/api/accept", headers=auth).status_code == 401
    named = client.post("/agent/api/accept", headers={**auth, "X-Agent-Id": "wang"})
    assert named.status_code == 401
    assert twilio_stub.posts("/Members/") == []


def test_per_agent_token(redis_client, twilio_stub, tmp_path):
    agents = demo_agents()
    li = agents.agent("li").model_copy(update={"api_token_sha256": token_digest("li-secret")})
    agents = agents.model_copy(update={"agents": [a if a.id != "li" else li
                                                  for a in agents.agents]})
    app = make_app(redis_client, twilio_stub, tmp_path, agents=agents)
    add(app, "CA1")
    client = app.test_client()
    data = client.get("/agent/api/queue", headers={"Authorization": "Bearer li-secret"}).get_json()
    assert data["agent"]["id"] == "li"
    resp = client.post("/agent/api/accept", headers={"Authorization": "Bearer li-secret"})
    assert resp.get_json()["entry"]["agent"] == "li"
    # a per-agent token acts as its own agent only
    as_wang = client.post("/agent/api/finish", headers={"Authorization": "Bearer li-secret",
                                                        "X-Agent-Id": "wang"})
    assert as_wang.status_code == 401


def test_session_post_needs_the_csrf_token(app, twilio_stub):
    add(app, "CA1")
    client = app.test_client()
    csrf = login(client)
    assert client.post("/agent/api/accept").status_code == 403
    assert client.post("/agent/api/accept", headers={"X-CSRF-Token": "forged"}).status_code == 403
    ok = client.post("/agent/api/accept", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.get_json()["entry"]["call_sid"] == "CA1"
    # the login form needs it too
    assert client.post("/agent/login", data={"agent": "wang", "password": "x"}).status_code == 403


def test_wrong_password_and_throttle(app):
    client = app.test_client()
    page = client.get("/agent/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for _ in range(ThrottleLimits().per_agent_address):
        resp = client.post("/agent/login",
                           data={"agent": "wang", "password": "wrong", "csrf_token": csrf})
        assert resp.status_code == 401
    resp = client.post("/agent/login", data={"agent": "wang", "password": DEMO_PASSWORDS["wang"],
                                             "csrf_token": csrf})
    assert resp.status_code == 429
    # the same agent from another address is not locked out by this one
    other = app.test_client()
    assert login(other, "wang", address="10.0.0.9")


def test_finish_rejects_unknown_disposition(app, twilio_stub):
    add(app, "CA1")
    client = app.test_client()
    csrf = login(client, "li")
    client.post("/agent/api/accept", headers={"X-CSRF-Token": csrf})
    bad = client.post("/agent/api/finish", json={"disposition": "<script>"},
                      headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400
