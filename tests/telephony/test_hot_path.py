"""The webhook hot path: how many Redis round trips a step costs, that the call lock still
excludes every other writer, and that TwiML comes from the cache without changing a byte."""

from __future__ import annotations

import shutil
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
import redis

from ivr.app import create_app
from ivr.flow.engine import Outcome
from ivr.flow.session import lock_key
from ivr.flow.twiml_cache import TwimlCache
from tests.helpers import REPO, call_params, make_settings, new_call_sid, post_signed
from tests.telephony.test_webhooks import Call, gather_action, twiml


@pytest.fixture
def app(tmp_path, redis_server, redis_client):
    return create_app(make_settings(tmp_path, redis_server.url), speech=False)


@pytest.fixture
def round_trips(monkeypatch):
    """Counts requests written to Redis (a pipeline or a script call is one)."""
    sent = [0]
    real = redis.connection.Connection.send_packed_command

    def counting(self, command, check_health=True):
        sent[0] += 1
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    return sent


def test_a_menu_step_is_two_redis_round_trips(app, redis_client, round_trips):
    client = app.test_client()
    call = Call(client)
    before = round_trips[0]
    root = call.press("1")
    assert gather_action(root) is not None  # a real step: the caller is in the next menu
    assert round_trips[0] - before == 2  # BEGIN (lock+reply+load), COMMIT (save+reply+unlock)
    record = app.extensions["ivr"].sessions.load(call.sid)
    assert record.state.step == 1 and not redis_client.exists(lock_key(call.sid))


def test_a_retried_step_gets_the_same_reply_without_a_second_change(app):
    client = app.test_client()
    call = Call(client)
    action = gather_action(call.root)
    params = call_params(call.sid, call.from_number, Digits="1")
    first = post_signed(client, action, params).data
    again = post_signed(client, action, params).data
    assert first == again
    assert app.extensions["ivr"].sessions.load(call.sid).state.step == 1


def test_the_step_lock_excludes_other_writers(app, redis_client):
    sessions = app.extensions["ivr"].sessions
    sid = new_call_sid()
    held = redis_client.lock(lock_key(sid), timeout=5)
    assert held.acquire(blocking=False)
    with pytest.raises(TimeoutError), sessions.step(sid, 0, wait=0.2):
        pass
    held.release()
    with sessions.step(sid, 0):  # and while a step holds it, redis-py's Lock waits
        assert not redis_client.lock(lock_key(sid), timeout=5).acquire(blocking=False)
    assert not redis_client.exists(lock_key(sid))


def test_a_step_that_fails_still_saves_and_unlocks(app, redis_client):
    client = app.test_client()
    call = Call(client)
    sessions = app.extensions["ivr"].sessions
    with pytest.raises(RuntimeError), sessions.step(call.sid, 0) as read:
        read.record.flags.append("checked")
        sessions.save(read.record)
        raise RuntimeError("after the write")
    assert sessions.load(call.sid).flags == ["checked"]
    assert not redis_client.exists(lock_key(call.sid))


def test_concurrent_steps_of_one_call_apply_once(app):
    client = app.extensions["ivr"]
    flask_app = app
    call = Call(flask_app.test_client())
    action = gather_action(call.root)
    params = call_params(call.sid, call.from_number, Digits="1")
    bodies: list[bytes] = []

    def post():
        bodies.append(post_signed(flask_app.test_client(), action, params).data)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(bodies)) == 1  # every retry got the one stored answer
    assert client.sessions.load(call.sid).state.step == 1


def test_menu_twiml_comes_from_the_cache_with_each_calls_own_step(app):
    client = app.test_client()
    flow = app.extensions["ivr"].flow
    first = Call(client)
    first.press("1")  # the account menu, built at step 1
    hits = flow.twiml_cache.hits
    second = Call(client, from_number="+8613900000002")
    second.press("1")  # the same menu for another call: from the cache, byte for byte
    assert flow.twiml_cache.hits >= hits + 2  # its greeting and its account menu
    assert ET.tostring(first.root) == ET.tostring(second.root)
    # the same document at another step carries that step in both of its URLs
    record = app.extensions["ivr"].sessions.load(second.sid)

    def render_at(step: int) -> str:
        state = replace(record.state, step=step)
        return flow._render(record, Outcome(state, flow._current(replace(record, state=state))),
                            "ws://localhost")

    at_3, hits = render_at(3), flow.twiml_cache.hits
    at_7 = render_at(7)
    assert flow.twiml_cache.hits == hits + 1
    root = ET.fromstring(at_7)
    assert gather_action(root).endswith("step=7") and root.find("Redirect").text.endswith(
        "step=7")
    assert at_7.replace("step=7", "step=3") == at_3


def test_prompts_without_audio_are_rebuilt_until_rendered(tmp_path, redis_server, redis_client):
    voices = tmp_path / "voices"  # the real profiles, an empty audio cache
    voices.mkdir()
    shutil.copy(REPO / "voices" / "profiles.yaml", voices / "profiles.yaml")
    settings = make_settings(tmp_path, redis_server.url, voices_dir=voices)
    app = create_app(settings, speech=False)
    flow = app.extensions["ivr"].flow
    client = app.test_client()
    root = twiml(post_signed(client, "/voice/incoming", call_params(new_call_sid())))
    assert root.find("Gather/Say") is not None  # no audio yet: <Say> stands in
    assert len(flow.twiml_cache) == 0  # ...and is not kept


def test_cache_entries_expire_and_the_oldest_go_first():
    now = [0.0]
    cache = TwimlCache(max_entries=2, ttl=10, clock=lambda: now[0])
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"
    cache.put("c", "C")  # "b" was used least recently
    assert cache.get("b") is None and cache.get("c") == "C"
    now[0] = 11
    assert cache.get("a") is None and len(cache) == 1


def test_each_call_gets_its_own_stream_token_from_a_cached_document(tmp_path, redis_server,
                                                                    redis_client):
    from ivr.speech.asr import SpeechService
    from ivr.telephony.stream_token import PARAMETER, check_token

    model = tmp_path / "model"  # a folder is all the web app checks; it never decodes
    model.mkdir()
    app = create_app(make_settings(tmp_path, redis_server.url),
                     speech=SpeechService({"mandarin": model}))
    client = app.test_client()
    flow = app.extensions["ivr"].flow
    tokens = {}
    for _ in range(2):
        sid = new_call_sid()
        root = twiml(post_signed(client, "/voice/incoming", call_params(sid)))
        params = {p.get("name"): p.get("value") for p in root.iter("Parameter")}
        tokens[sid] = params[PARAMETER]
    assert flow.twiml_cache.hits >= 1  # the second greeting came from the cache...
    a, b = tokens
    assert tokens[a] != tokens[b]  # ...with its own token, valid for its own call only
    assert check_token("test-secret", a, tokens[a], time.time()) is None
    assert check_token("test-secret", b, tokens[b], time.time()) is None
    assert check_token("test-secret", b, tokens[a], time.time()) is not None


def test_an_incoming_call_is_two_redis_round_trips(app, redis_client, round_trips):
    # caller memory, the repeat-caller count, lock, reply check: BEGIN's trip; the save: COMMIT's
    client = app.test_client()
    before = round_trips[0]
    call = Call(client, from_number="+8613900000011")
    assert gather_action(call.root) is not None
    assert round_trips[0] - before == 2
    assert app.extensions["ivr"].sessions.load(call.sid).state.step == 0
    assert not redis_client.exists(lock_key(call.sid))


def test_repeat_callers_are_still_flagged_from_the_first_webhook(app):
    client = app.test_client()
    sessions = app.extensions["ivr"].sessions
    threshold = app.extensions["ivr"].flow.caller_watch.threshold
    calls = [Call(client, from_number="+8613900000012") for _ in range(threshold + 1)]
    assert sessions.load(calls[0].sid).flags == []
    assert sessions.load(calls[-1].sid).flags == ["repeat_caller"]
    calls[-1].press("0")  # ...and the agent sees why
    [entry] = app.extensions["ivr"].queue.entries()
    assert entry.context["flags"] == ["repeat_caller"]


def test_a_remembered_choice_rides_in_the_steps_commit(app, round_trips):
    client = app.test_client()
    call = Call(client, from_number="+8613700000013")
    before = round_trips[0]
    call.press("8")  # Cantonese: a choice kept for the caller's next call
    assert round_trips[0] - before == 2
    second = Call(client, from_number="+8613700000013")
    assert app.extensions["ivr"].sessions.load(second.sid).state.dialect == "cantonese"


def test_steps_work_after_redis_lost_its_scripts(app, redis_client):
    # a Redis restart or SCRIPT FLUSH empties the script cache: the step loads its script again
    client = app.test_client()
    redis_client.script_flush()
    call = Call(client, from_number="+8613900000014")
    redis_client.script_flush()
    root = call.press("1")
    assert gather_action(root).endswith("step=1")
    record = app.extensions["ivr"].sessions.load(call.sid)
    assert record.state.step == 1 and not redis_client.exists(lock_key(call.sid))
