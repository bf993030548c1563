"""A scam told as a story over three sentences, without one textbook keyword, reaches the front.

The sentences are handed to the app's speech sink one by one as final transcripts (what the media
process does for each recognised utterance); the trained model, the call-level judge, the REST
redirect through the stand-in, the Redis queue and the agent's context are all real.
"""

from __future__ import annotations

import time

from ivr.understanding.decision import CallScamJudge
from ivr.understanding.scam import ScamDetector
from tests.e2e.test_scam import queued_caller, sid_of, wait_for

STORY = ["前天有个女的打电话来，说她是社保中心的",
         "她讲我的养老金账户有问题，要重新认证一下",
         "叫我把存折里的钱先打到她给的卡上，认证完了再退给我"]


def test_story_without_keywords_moves_the_caller_to_the_front(stack):
    detector = ScamDetector(stack.svc.config.current.scam)
    lexicon_only = CallScamJudge(detector, None)
    assert not any(lexicon_only.feed(s).is_risk for s in STORY)  # no textbook keyword

    results = []
    first = queued_caller(stack, "+8613100000011", results)
    earlier = wait_for(lambda: sid_of(stack, "+8613100000011"))
    second = queued_caller(stack, "+8613100000012", results)
    victim = wait_for(lambda: sid_of(stack, "+8613100000012"))
    assert [e.call_sid for e in stack.svc.queue.entries()] == [earlier, victim]

    actions = stack.svc.speech_actions
    actions.on_speech(victim, STORY[0][:6], False, False)  # a partial: too thin to act on
    time.sleep(0.3)
    assert stack.svc.queue.get(victim).priority == "normal"
    for sentence in STORY:
        actions.on_speech(victim, sentence, True, False)
    entry = wait_for(lambda: (e := stack.svc.queue.get(victim)) and e.priority == "scam" and e)
    assert [e.call_sid for e in stack.svc.queue.entries()][0] == victim
    why = entry.context["scam"]
    assert why["reason"] in ("model", "model+lexicon") and why["probability"] > 0.5
    assert why["ngrams"] and set(why["ngrams"]) <= set(why["matched"])
    assert all(g in "".join(STORY).replace("，", "") for g in why["ngrams"])
    assert wait_for(lambda: [r for r in stack.sim.rest.requests
                             if victim in r["path"] and "scam-warning" in r["form"].get("Url", "")])
    first.join(60)
    second.join(60)
