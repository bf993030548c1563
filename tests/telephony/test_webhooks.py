"""The call-flow webhooks through the real app, with signed requests and a real Redis server."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.app import create_app
from ivr.local_redis import LocalRedisServer
from tests.flow.test_engine import reachable_paths
from tests.helpers import call_params, make_settings, new_call_sid, post_signed


@pytest.fixture
def app(tmp_path, redis_server, redis_client):
    return create_app(make_settings(tmp_path, redis_server.url))


@pytest.fixture
def client(app):
    return app.test_client()


def twiml(resp) -> ET.Element:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "application/xml"
    return ET.fromstring(resp.data)


def gather_action(root: ET.Element) -> str:
    gather = root.find("Gather")
    assert gather is not None, ET.tostring(root, encoding="unicode")
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert gather.get("actionOnEmptyResult") == "true"
    return gather.get("action")


def enqueued(root: ET.Element) -> bool:
    return root.find("Enqueue") is not None


class Call:
    """Drives one call through the app like Twilio: follows each Gather action."""

    def __init__(self, client, from_number="+8613912345678"):
        self.client = client
        self.sid = new_call_sid()
        self.from_number = from_number
        self.root = twiml(post_signed(client, "/voice/incoming",
                                      call_params(self.sid, from_number)))

    def press(self, digits: str) -> ET.Element:
        action = gather_action(self.root)
        params = call_params(self.sid, self.from_number, Digits=digits)
        self.root = twiml(post_signed(self.client, action, params))
        return self.root


def queued_sids(app) -> list[str]:
    return [e.call_sid for e in app.extensions["ivr"].queue.entries()]


def test_incoming_answers_a_gathered_menu_with_the_human_option_first(app, client):
    from ivr.flow.engine import CallerInfo, start_call

    call = Call(client)
    gather = call.root.find("Gather")
    expected = start_call(app.extensions["ivr"].flow.cfg, CallerInfo()).decision.sentences
    assert "人工" in expected[1]
    voices = app.extensions["ivr"].voices
    heard = list(gather)
    assert len(heard) == len(expected)
    for el, sentence in zip(heard, expected, strict=True):
        if el.tag == "Say":
            assert el.text == sentence and el.get("language") == "zh-CN"
        else:
            assert el.tag == "Play"
            assert el.text == "/audio/" + voices.name_for(sentence, "mandarin", "normal")
    assert int(gather.get("timeout")) >= 5


def test_zero_transfers_from_every_node(app, client):
    cfg = app.extensions["ivr"].flow.cfg
    for node, keys in reachable_paths(cfg).items():
        call = Call(client)
        for k in keys:
            call.press(k)
        assert not enqueued(call.root), node
        assert enqueued(call.press("0")), node
        assert call.sid in queued_sids(app)


def test_first_silence_transfers(client):
    call = Call(client)
    assert enqueued(call.press(""))


def test_wrong_key_twice_transfers(client):
    call = Call(client)
    assert not enqueued(call.press("5"))
    assert enqueued(call.press("6"))


def test_known_elder_reaches_the_queue_with_zero_keys(app, client):
    elder = app.extensions["ivr"].config.current.elders.numbers[0]
    call = Call(client, from_number=elder)
    assert enqueued(call.root)
    assert call.root.find("Gather") is None
    [entry] = app.extensions["ivr"].queue.entries()
    assert entry.call_sid == call.sid and entry.priority == "elder"
    assert entry.context["reason"] == "elder_direct"


def test_unsigned_or_forged_requests_get_403_and_change_nothing(client, redis_client):
    sid = new_call_sid()
    params = call_params(sid)
    assert client.post("/voice/incoming", data=params).status_code == 403
    forged = client.post("/voice/incoming", data=params,
                         headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 403
    wrong_token = post_signed(client, "/voice/incoming", params, token="another-token")
    assert wrong_token.status_code == 403
    tampered = post_signed(client, "/voice/incoming", params)
    assert tampered.status_code == 200  # the same request, properly signed, is accepted
    redis_client.flushdb()
    # a signed body whose parameters were changed afterwards
    from tests.helpers import BASE, signature

    sig = signature(BASE + "/voice/incoming", params)
    changed = client.post("/voice/incoming", data={**params, "From": "+100"},
                          headers={"X-Twilio-Signature": sig})
    assert changed.status_code == 403
    assert redis_client.dbsize() == 0


def test_malformed_webhook_gets_400(client):
    assert post_signed(client, "/voice/incoming", {"CallSid": "nope"}).status_code == 400
    call = Call(client)
    bad = post_signed(client, "/voice/menu?step=0", call_params(call.sid, Digits="1x"))
    assert bad.status_code == 400


def test_trailing_newline_is_not_a_valid_call_sid_or_key(client, redis_client):
    """``$`` lets a trailing newline through; fullmatch does not (nothing stored under it)."""
    sid = new_call_sid()
    assert post_signed(client, "/voice/incoming", call_params(sid + "\n")).status_code == 400
    assert redis_client.keys("*\n*") == []
    call = Call(client)
    step = gather_action(call.root)
    assert post_signed(client, step, call_params(call.sid, Digits="1\n")).status_code == 400


@pytest.mark.parametrize("step", ["x", "\u00b2", "", "1.5"])
def test_unparsable_step_counts_as_where_the_caller_is(app, client, step):
    """step=² passes isdigit() and broke int(): now it is absent, and 0 still reaches a person."""
    call = Call(client)
    root = twiml(post_signed(client, f"/voice/menu?step={step}",
                             call_params(call.sid, Digits="0")))
    assert enqueued(root)
    assert root.find("Enqueue").get("waitUrl") == "/voice/wait"
    assert queued_sids(app) == [call.sid]


def test_lost_session_is_rebuilt_from_the_request(app, client, redis_client):
    """Session expired (TTL) or lost in a Redis restart: the key still counts."""
    call = Call(client)
    action = gather_action(call.root)
    redis_client.delete(f"ivr:{{call:{call.sid}}}:session")
    root = twiml(post_signed(client, action, call_params(call.sid, Digits="0")))
    assert enqueued(root) and root.find("Enqueue").get("action") == "/voice/queue-exit"
    assert queued_sids(app) == [call.sid]
    other = Call(client)
    redis_client.delete(f"ivr:{{call:{other.sid}}}:session")
    menu = twiml(post_signed(client, gather_action(other.root),
                             call_params(other.sid, Digits="1")))
    assert gather_action(menu)  # a menu again (the account sub-menu), not the bare failsafe
    assert app.extensions["ivr"].sessions.load(other.sid).rebuilt


def test_dead_workers_lock_delays_a_call_by_at_most_two_seconds(app, client, redis_client):
    """A worker killed mid-request leaves the call's lock behind: it expires on its own."""
    import time

    from ivr.flow.session import lock_key

    call = Call(client)
    redis_client.set(lock_key(call.sid), "dead-worker-token", px=2000)
    start = time.monotonic()
    root = twiml(post_signed(client, gather_action(call.root),
                             call_params(call.sid, Digits="0")))
    assert enqueued(root)
    assert time.monotonic() - start < 3.0


def test_a_retried_webhook_gets_the_same_answer_and_changes_nothing(app, client):
    call = Call(client)
    again = twiml(post_signed(client, "/voice/incoming", call_params(call.sid)))
    assert ET.tostring(again) == ET.tostring(call.root)
    action = gather_action(call.root)
    first = post_signed(client, action, call_params(call.sid, Digits="1")).data
    retry = post_signed(client, action, call_params(call.sid, Digits="1")).data
    assert first == retry
    # the retry did not move the caller a second step: "1" again now means "balance info"
    root = twiml(post_signed(client, gather_action(ET.fromstring(first)),
                             call_params(call.sid, Digits="0")))
    assert enqueued(root)
    retried_transfer = twiml(post_signed(client, gather_action(ET.fromstring(first)),
                                         call_params(call.sid, Digits="0")))
    assert enqueued(retried_transfer)
    assert queued_sids(app).count(call.sid) == 1


def test_redis_down_still_enqueues_the_caller(tmp_path):
    server = LocalRedisServer(tmp_path)
    server.start()
    app = create_app(make_settings(tmp_path, server.url))
    client = app.test_client()
    call = Call(client)
    server.stop()
    root = twiml(post_signed(client, gather_action(call.root), call_params(call.sid, Digits="1")))
    assert enqueued(root)
    fresh = twiml(post_signed(client, "/voice/incoming", call_params(new_call_sid())))
    assert enqueued(fresh)
    for doc in (root, fresh):  # never the bare <Enqueue> that no agent can reach
        assert doc.find("Enqueue").get("waitUrl") == "/voice/wait"
        assert doc.find("Enqueue").get("action") == "/voice/queue-exit"
    # the queue routes have their failsafe too: a wait-legal hold, never a 500
    wait = post_signed(client, "/voice/wait", call_params(call.sid, QueueTime="x"))
    assert wait.status_code == 200 and b"<Pause" in wait.data and b"Enqueue" not in wait.data
    bridge = post_signed(client, "/voice/bridge?agent=wang", call_params(call.sid))
    assert bridge.status_code == 200 and b"waitUrl" in bridge.data
    status = post_signed(client, "/voice/status", call_params(call.sid, CallStatus="completed"))
    assert status.status_code == 204
    api = client.get("/agent/api/queue", headers={"Authorization": "Bearer agent-api-token",
                                                  "X-Agent-Id": "wang"})
    assert api.status_code == 503 and api.is_json and api.get_json()["error"]


def test_fallback_url_enqueues(client):
    root = twiml(post_signed(client, "/voice/fallback",
                             call_params(new_call_sid(), ErrorCode="11200")))
    assert enqueued(root)


def test_dialect_choice_is_remembered_for_the_next_call(app, client):
    sessions = app.extensions["ivr"].sessions
    call = Call(client, from_number="+8613700000001")
    call.press("8")
    assert sessions.load(call.sid).state.dialect == "cantonese"
    second = Call(client, from_number="+8613700000001")
    assert sessions.load(second.sid).state.dialect == "cantonese"
    other = Call(client, from_number="+8613700000002")
    assert sessions.load(other.sid).state.dialect == "mandarin"


def test_healthz_reports_redis_and_config(client):
    body = client.get("/healthz").get_json()
    assert body["redis"] is True and body["config_version"]


def test_hang_up_while_queued_leaves_the_queue(app, client):
    call = Call(client)
    call.press("0")
    assert call.sid in queued_sids(app)
    params = call_params(call.sid, CallStatus="completed", CallDuration="42")
    assert post_signed(client, "/voice/status", params).status_code == 204
    assert call.sid not in queued_sids(app)


def test_queue_context_tells_the_agent_why(app, client):
    call = Call(client, from_number="+8613912345600")
    call.press("2")
    call.press("2")  # insurance -> surrender and claims -> transfer
    [entry] = app.extensions["ivr"].queue.entries()
    ctx = entry.context
    assert ctx["reason"] == "policy_service" and ctx["topic"] == "insurance"
    assert ctx["menu_path"] == ["main", "insurance", "transfer:policy_service"]
    assert ctx["caller_masked"] == "+86139******00"
    assert "13912345600" not in str(ctx)


def test_scam_warning_route_warns_and_puts_the_caller_first(app, client):
    early = Call(client)
    early.press("0")  # an ordinary caller already waiting
    call = Call(client)
    svc = app.extensions["ivr"]
    record = svc.sessions.load(call.sid)
    record.scam = {"category": "police_impersonation", "score": 3.0,
                   "matched": ["安全账户"], "excerpt": "警察让我把钱转到安全账户"}
    svc.sessions.save(record)
    root = twiml(post_signed(client, "/voice/scam-warning", call_params(call.sid)))
    assert enqueued(root)
    said = [el.text for el in root if el.tag in ("Say", "Play")]
    warning = svc.config.current.scam.warning("mandarin")
    assert said[0] == warning or said[0] == "/audio/" + svc.voices.name_for(
        warning, "mandarin", "elder")
    entries = svc.queue.entries()
    assert [e.call_sid for e in entries][0] == call.sid
    assert entries[0].priority == "scam"
    assert entries[0].context["scam"]["matched"] == ["安全账户"]


def test_star_repeats_and_hash_slows_what_the_next_twiml_plays(app, client):
    voices = app.extensions["ivr"].voices

    def heard(root):
        return [el.text for el in root.find("Gather")]

    def expect(sentence, mode):
        return {sentence, "/audio/" + voices.name_for(sentence, "mandarin", mode)}

    from ivr.flow.engine import menu_prompt

    flow = app.extensions["ivr"].flow
    call = Call(client, from_number="+8613700000009")
    call.press("1")
    state = app.extensions["ivr"].sessions.load(call.sid).state
    sentences = menu_prompt(flow.cfg, state).sentences
    again = call.press("*")  # the same sentences again (audio or, until rendered, <Say>)
    for el_text, sentence in zip(heard(again), sentences, strict=True):
        assert el_text in expect(sentence, "normal")
    slower = call.press("#")
    state = app.extensions["ivr"].sessions.load(call.sid).state
    assert state.voice_mode == "elder"
    for el_text, sentence in zip(heard(slower), sentences, strict=True):
        assert el_text in expect(sentence, "elder")
    # the slower voice is remembered for this caller's next call
    nxt = Call(client, from_number="+8613700000009")
    assert app.extensions["ivr"].sessions.load(nxt.sid).state.voice_mode == "elder"


def test_bridge_stops_the_speech_stream_before_dialling_the_agent(app, client):
    """Once an agent has the caller, nothing they say may act on the call: stop listening."""
    call = Call(client)
    sessions = app.extensions["ivr"].sessions
    sessions.update(call.sid, lambda r: setattr(r, "stream_started", True))
    twiml(post_signed(client, gather_action(call.root), call_params(call.sid, Digits="0")))
    resp = post_signed(client, "/voice/bridge?agent=wang", call_params(call.sid))
    assert resp.status_code == 200
    root = ET.fromstring(resp.data)
    names = [child.tag for child in root]
    assert names.index("Stop") < names.index("Dial")
    assert root.find("Stop/Stream").get("name") == "ivr-speech"
    assert sessions.load(call.sid).bridged


def test_speech_stream_is_named_so_it_can_be_stopped():
    from ivr.telephony import twiml as flow_twiml

    doc = flow_twiml.menu(["hi"], lambda t: flow_twiml.Speech(None, t), "/voice/menu?step=0", 6,
                          flow_twiml.StreamSpec("wss://x/media", {}, name="ivr-speech"))
    assert ET.fromstring(doc).find("Start/Stream").get("name") == "ivr-speech"


@pytest.mark.parametrize("queue_time", ["abc", "\u00b2", "-1", "1e9", ""])
def test_unparsable_queue_time_is_absent_not_a_500(app, client, queue_time):
    call = Call(client)
    twiml(post_signed(client, gather_action(call.root), call_params(call.sid, Digits="0")))
    resp = post_signed(client, "/voice/wait", call_params(call.sid, QueueTime=queue_time))
    assert resp.status_code == 200 and b"<Pause" in resp.data


def test_wait_poll_recreates_a_missing_queue_entry(app, client, redis_client):
    """A caller in Twilio's queue with no Redis entry (lost in a restart, or queued by the
    failsafe) becomes visible to agents at their next wait poll."""
    call = Call(client)
    twiml(post_signed(client, gather_action(call.root), call_params(call.sid, Digits="0")))
    queue = app.extensions["ivr"].queue
    queue.remove(call.sid)
    assert queued_sids(app) == []
    assert post_signed(client, "/voice/wait", call_params(call.sid)).status_code == 200
    assert queued_sids(app) == [call.sid]
    entry = queue.get(call.sid)
    assert entry.context["reason"] == "caller_request" and entry.polled_at
    # a caller who hung up does not come back as a ghost from a late poll
    post_signed(client, "/voice/status", call_params(call.sid, CallStatus="completed"))
    assert post_signed(client, "/voice/wait", call_params(call.sid)).status_code == 200
    assert queued_sids(app) == []


def test_every_rest_client_has_a_timeout():
    """The production client (api.twilio.com) had none: a hung request held an agent's accept."""
    from ivr.telephony.rest import make_client

    assert make_client("AC" + "0" * 32, "t").http_client.timeout == 5.0
    assert make_client("AC" + "0" * 32, "t", "http://127.0.0.1:9", timeout=1.5
                       ).http_client.timeout == 1.5


def test_rest_errors_are_classified_never_guessed():
    from twilio.base.exceptions import TwilioRestException

    from ivr.telephony.rest import classify

    kinds = {code: classify(TwilioRestException(code, "u")) for code in
             (404, 401, 403, 429, 500, 503, 400)}
    assert kinds == {404: "not_found", 401: "auth", 403: "auth", 429: "rate", 500: "server",
                     503: "server", 400: "client"}
    assert classify(TimeoutError()) == "timeout"
