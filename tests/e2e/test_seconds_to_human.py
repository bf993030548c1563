"""Seconds to a human for every kind of caller (the rows of bench/seconds_to_human.py), through
the stand-in and the real service with rendered prompts: the targets of issue 15, in call time."""

from __future__ import annotations

import pytest

from ivr.flow.prompts import all_prompt_texts
from ivr.sim import kinds as K
from ivr.speech import espeak_lib
from tests.e2e.conftest import copy_config, edit_yaml, start_stack

pytestmark = pytest.mark.slow
MODES = ("normal", "elder", "elder_slower")


@pytest.fixture
def stack_now(tmp_path, redis_server, redis_client):
    """The stack, with the call-back offered at the first hold announcement (its delay is
    wall-clock time in Redis, not call time)."""
    root = copy_config(tmp_path)
    edit_yaml(root / "config" / "agents.yaml",
              lambda d: d["queue"].update(callback_offer_after_seconds=0))
    # the stand-in sends no StirVerstat: trust +86 so the call-back offer is still heard
    edit_yaml(root / "config" / "ivr.yaml",
              lambda d: d.setdefault("callbacks", {}).update(trusted_prefixes=["+86"]))
    st, server = start_stack(tmp_path, redis_server.url, root)
    yield st
    st.sim.close()
    server.shutdown()


@pytest.fixture
def measured(stack_now):
    if not espeak_lib.engine().usable:
        pytest.skip(espeak_lib.status_line())
    stack = stack_now
    svc = stack.svc
    config = svc.config.current
    items = all_prompt_texts(config)
    report = svc.voices.render_all(items, modes=MODES, fragments=False)
    assert report.failed == 0, report.errors[:3]
    stack.sim.config.speed = 20.0  # spoken words reach the service at the right call time
    text_of = K.text_lookup(K.url_texts(svc.voices, items, MODES))

    def speak(sid, words, restricted):
        svc.speech_actions.on_speech(sid, words, True, restricted)

    def session(sid):
        return svc.sessions.load(sid).state

    def run(kind):
        return K.measure(stack.sim, kind, text_of, speak, session)

    callers = {k.name: k for k in K.kinds(config.elders.numbers[0])}
    callers["elder line"] = K.elder_line_kind(config.elders.lines[0])
    return run, callers


def test_every_kind_of_caller_reaches_a_human(measured):
    run, callers = measured
    rows = {name: run(kind) for name, kind in callers.items()}
    for name, row in rows.items():
        print(f"{name:28} {row.to_enqueue!s:>8} s  heard {row.heard:5.1f} s  keys {row.keys!r}"
              f"  {row.reason}")
        assert row.to_enqueue is not None, (name, row.note)
    assert rows["silent"].to_enqueue <= 30 and rows["silent"].reason == "no_input"
    assert rows["press 0 at first chance"].to_enqueue <= 10
    elder = rows["known elder"]
    assert elder.keys == "" and elder.to_enqueue <= elder.heard + 2.0
    assert rows["elder line"].to_enqueue <= 30 and rows["elder line"].reason == "elder_line"
    assert rows["elder line"].elder
    assert rows["unknown elder presses 9"].reason == "elder_self"
    assert rows["says 人工"].reason == "caller_request" and rows["says 人工"].keys == ""
    assert rows["Cantonese by prefix, 0"].dialect == "cantonese"
    assert rows["scam story in the menu"].reason == "scam_risk"
    assert rows["wrong keys"].reason == "wrong_keys"
    assert "call-back kept" in rows["call-back taken"].note


def test_first_menu_heard_before_a_key_is_within_limits(measured):
    run, callers = measured
    row = run(callers["press 0 after whole menu"])
    gather = next(e for e in row.events if e["kind"] == "gather")
    assert gather["prompts"] <= 15.0  # greeting + first menu at the normal rate
    assert row.to_enqueue is not None
