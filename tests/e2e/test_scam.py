"""A scam description heard while the caller waits: a calm warning and the front of the queue.

The transcript is real Chinese text handed to the app's speech sink (the same call the media
socket makes for each recognised utterance); everything after it is the real path: detector,
REST redirect through the stand-in, the warning webhook, the Redis queue and the audit stream.
"""

from __future__ import annotations

import threading
import time

from ivr.sim.scenario import Scenario, run_scenario

SCAM = "公安局的警察说我涉嫌洗钱，让我把钱转到安全账户"


def wait_for(predicate, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def queued_caller(stack, number, results):
    scn = Scenario.from_dict({
        "name": number, "caller": number, "hangup_after": 20000,
        "steps": [{"press": "0", "after": 1},
                  {"hangup": True, "after": 6000, "when": "queue"}]})
    thread = threading.Thread(target=lambda: results.append(run_scenario(stack.sim, scn)))
    thread.start()
    return thread


def sid_of(stack, number):
    for e in stack.svc.queue.entries():
        record = stack.svc.sessions.load(e.call_sid)
        if record and record.from_number == number:
            return e.call_sid
    return None


def test_scam_words_warn_once_and_move_the_caller_to_the_front(stack):
    results = []
    first = queued_caller(stack, "+8613100000001", results)
    earlier = wait_for(lambda: sid_of(stack, "+8613100000001"))
    second = queued_caller(stack, "+8613100000002", results)
    victim = wait_for(lambda: sid_of(stack, "+8613100000002"))
    assert [e.call_sid for e in stack.svc.queue.entries()] == [earlier, victim]

    actions = stack.svc.speech_actions
    actions.on_speech(victim, SCAM, True, False)
    entry = wait_for(lambda: (e := stack.svc.queue.get(victim)) and e.priority == "scam" and e)
    assert [e.call_sid for e in stack.svc.queue.entries()][0] == victim
    assert entry.context["scam"]["category"] == "police_impersonation"
    assert "安全账户" in entry.context["scam"]["matched"]

    def warned():
        return [r for r in stack.sim.rest.requests
                if victim in r["path"] and "scam-warning" in r["form"].get("Url", "")]

    assert len(wait_for(warned)) == 1
    actions.on_speech(victim, "他还让我把验证码告诉他，说是安全账户", True, False)
    time.sleep(0.5)
    assert len(warned()) == 1  # one warning per call
    audit = stack.svc.audit.recent(10)
    assert [a.call_sid for a in audit] == [victim]
    assert "8613100000002" not in str(audit[0])  # the number is masked
    first.join(60)
    second.join(60)
    report = next(r for r in results if r.result.call_sid == victim)
    warning = stack.svc.config.current.scam.warning("mandarin")
    name = stack.svc.voices.name_for(warning, "mandarin", "elder")
    assert any(warning in h or name in h for h in report.result.heard), report.result.heard


def test_ordinary_words_about_policies_do_not_warn(stack):
    results = []
    caller = queued_caller(stack, "+8613100000003", results)
    sid = wait_for(lambda: sid_of(stack, "+8613100000003"))
    own_request = "我想给我自己的保单办理退保，验证码一直收不到"
    stack.svc.speech_actions.on_speech(sid, own_request, True, False)
    time.sleep(0.5)
    assert stack.svc.queue.get(sid).priority == "normal"
    assert stack.svc.audit.recent(10) == []
    caller.join(60)
