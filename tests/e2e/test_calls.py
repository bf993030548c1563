"""Whole calls through the Twilio stand-in against the real app and a real Redis."""

from __future__ import annotations

import time

from ivr.sim.scenario import Scenario, run_scenario


def scenario(**raw) -> Scenario:
    return Scenario.from_dict({"hangup_after": 600, **raw})


def test_known_elder_reaches_the_queue_with_no_key_within_the_greeting(stack):
    elder = stack.svc.config.current.elders.numbers[0]
    report = run_scenario(stack.sim, scenario(
        name="elder", caller=elder,
        steps=[{"hangup": True, "after": 5, "when": "queue"}],
        expect={"reaches": "enqueued"}))
    assert report.passed, report.failures
    seconds = report.result.enqueued_at
    # the greeting as the caller heard it: every prompt played before they were queued
    greeting = sum(e["seconds"] for e in report.result.events
                   if e["kind"] in ("say", "play") and e["t"] <= seconds)
    print(f"known elder: seconds to the human queue {seconds:.2f} (greeting {greeting:.2f} s)")
    assert greeting > 0
    assert seconds <= greeting + 2.0
    assert report.result.ended_by == "caller_hangup"


def test_normal_caller_presses_zero_in_a_second_level_menu(stack):
    report = run_scenario(stack.sim, scenario(
        name="zero", steps=[{"press": "1", "after": 1}, {"press": "0", "after": 1},
                            {"hangup": True, "after": 3, "when": "queue"}],
        expect={"reaches": "enqueued"}))
    assert report.passed, report.failures
    state = stack.svc.sessions.load(report.result.call_sid).state
    assert state.path == ("main", "account") and state.transfer_reason == "caller_request"
    print(f"press 0 in a sub-menu: seconds to the human queue {report.result.enqueued_at:.2f}")


def test_silence_goes_to_a_human(stack):
    report = run_scenario(stack.sim, scenario(
        name="silent", steps=[{"silent": True}, {"silent": True},
                              {"hangup": True, "after": 3, "when": "queue"}],
        expect={"reaches": "enqueued"}))
    assert report.passed, report.failures
    assert stack.svc.sessions.load(report.result.call_sid).state.transfer_reason == "no_input"
    print(f"silent caller: seconds to the human queue {report.result.enqueued_at:.2f}")


def test_wrong_keys_go_to_a_human(stack):
    report = run_scenario(stack.sim, scenario(
        name="wrong", steps=[{"press": "5", "after": 1}, {"press": "6", "after": 1},
                             {"hangup": True, "after": 3, "when": "queue"}],
        expect={"reaches": "enqueued"}))
    assert report.passed, report.failures
    assert stack.svc.sessions.load(report.result.call_sid).state.transfer_reason == "wrong_keys"


def test_caller_who_hangs_up_while_queued_leaves_the_queue(stack):
    report = run_scenario(stack.sim, scenario(
        name="hangup", steps=[{"press": "0", "after": 1},
                              {"hangup": True, "after": 10, "when": "queue"}],
        expect={"reaches": "enqueued", "ended_by": "caller_hangup"}))
    assert report.passed, report.failures
    sid = report.result.call_sid
    assert stack.svc.sessions.load(sid).state.transferred
    assert sid not in [e.call_sid for e in stack.svc.queue.entries()]


def test_agent_accepts_and_the_caller_is_bridged(stack):
    token = stack.svc.settings.agent_api_token
    report = run_scenario(stack.sim, scenario(
        name="bridged", caller="+8613600006666",
        steps=[{"press": "0", "after": 1}],
        agent={"answer_after": 2, "talk_seconds": 5},
        agent_accepts={"after": 3, "method": "POST", "path": "/agent/api/accept",
                       "headers": {"Authorization": f"Bearer {token}",
                                   "X-Agent-Id": "wang"},
                       "json": {}},
        expect={"reaches": "bridged"}))
    assert report.passed, (report.failures, report.result.errors)
    assert report.result.bridged_at is not None
    print(f"bridged to an agent after {report.result.bridged_at:.2f} s")


def test_an_agent_who_wraps_up_takes_the_next_caller(stack):
    """The demo's agent finishes each call (POST /agent/api/finish): the scenario runs again."""
    token = stack.svc.settings.agent_api_token
    accepts = {"after": 3, "method": "POST", "path": "/agent/api/accept",
               "headers": {"Authorization": f"Bearer {token}", "X-Agent-Id": "wang"},
               "json": {}, "finish": True}
    for caller in ("+8613600007777", "+8613600008888"):
        report = run_scenario(stack.sim, scenario(
            name="bridged twice", caller=caller, steps=[{"press": "0", "after": 1}],
            agent={"answer_after": 2, "talk_seconds": 3}, agent_accepts=accepts,
            expect={"reaches": "bridged"}))
        assert report.passed, (report.failures, report.result.errors)
        done = time.monotonic() + 10
        while stack.svc.queue.held_by("wang") and time.monotonic() < done:
            time.sleep(0.05)  # the wrap-up is posted when the call has ended
        assert stack.svc.queue.held_by("wang") is None
