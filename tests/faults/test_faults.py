"""The fault suite: real redis-server, the real app on a real HTTP server, the Twilio stand-in.

Each drill (``ivr.sim.drills``) breaks something while callers wait for a person, then agents
accept through the console API; the counts come from the stand-in's side of each call: who was
bridged to an agent, and how often. ``bench/faults.py`` prints the same drills as a table.
"""

from __future__ import annotations

import pytest

from ivr.sim import drills


def assert_everyone_served_once(result: drills.DrillResult) -> None:
    assert result.lost == 0, result.details.get("lost_calls")
    assert result.double_served == 0, result
    assert result.served == result.callers, result


def test_redis_kill9_with_aof_keeps_100_queued_callers_and_all_are_served(tmp_path):
    result = drills.redis_kill9(tmp_path, callers=100)
    assert result.details["kept"] == 100
    assert_everyone_served_once(result)


def test_service_restart_on_the_embedded_redis_keeps_queued_callers(tmp_path):
    result = drills.embedded_restart(tmp_path, callers=20)
    assert result.details["kept"] == 20
    assert_everyone_served_once(result)


@pytest.mark.parametrize("via", ["wait", "reconciler"])
def test_redis_down_callers_pressing_0_reach_agents_once_redis_is_back(tmp_path, via):
    result = drills.redis_down_press0(tmp_path, callers=10, via=via)
    assert result.details["failsafe"] == 10  # the flow could not answer: Redis was down
    assert result.details["enqueue_with_wait_url"] == 10  # never the bare <Enqueue>
    assert result.details["visible"] == 10
    if via == "reconciler":  # no wait poll came before the reconciler ran
        assert result.details["added"] == 10
    assert_everyone_served_once(result)


@pytest.mark.parametrize("fault", list(drills.REST_FAULTS))
def test_rest_errors_on_dequeue_lose_nobody_and_serve_nobody_twice(tmp_path, fault):
    result = drills.rest_fault(tmp_path, fault, callers=5)
    assert_everyone_served_once(result)
    statuses = result.details["accept_statuses"]
    times = drills.REST_FAULTS[fault]["times"]
    if fault in ("401", "429", "500", "timeout, not applied"):
        assert statuses.get(503) == times  # the agent saw an error; the caller kept the place
    if fault == "404 longer than the retry":
        assert statuses.get(409, 0) >= 1  # "caller not yet in queue"
    if fault in ("404 not yet queued", "timeout, applied"):
        assert 503 not in statuses and 409 not in statuses  # handled inside the accept


def test_worker_kill9_during_50_calls_every_caller_reaches_a_person(tmp_path):
    """Webhooks a dead worker dropped go to the Fallback URL (a static TwiML outside the service
    that dials the staffed number); every other call goes on through the queue."""
    result = drills.worker_kill(tmp_path, callers=50)
    assert len(result.details["killed"]) == 4
    assert_everyone_served_once(result)


def test_bridged_caller_saying_a_scam_phrase_stays_with_the_agent(tmp_path):
    result = drills.bridged_scam(tmp_path)
    assert result.details["redirects"] == 0
    assert result.details["annotated"]
    assert result.details["still_with_agent"]
    entry = result.details["entry"]
    assert entry.state == "assigned" and entry.context["scam"]["category"]
    assert_everyone_served_once(result)


def test_ghost_whose_callbacks_were_lost_is_closed_after_the_ghost_timeout(tmp_path):
    result = drills.ghost(tmp_path, callers=5)
    assert result.details["stranded"] == 5  # without the reconciler they would stay for ever
    assert result.details["early_closed"] == 0  # not before the timeout
    assert result.details["left"] == 0


def test_stray_id_in_a_skill_set_accept_returns_and_redis_stays_responsive(tmp_path):
    result = drills.stray_id(tmp_path)
    assert result.details["status"] == 200 and result.details["pong"]
    assert result.details["strays"] == 0
    assert_everyone_served_once(result)


def test_stale_queue_sid_is_looked_up_again_not_taken_as_callers_gone(tmp_path):
    result = drills.stale_queue_sid(tmp_path, callers=3)
    assert_everyone_served_once(result)
    assert 409 not in result.details["accept_statuses"]


def test_background_reconciler_restores_lost_entries_one_worker_at_a_time(tmp_path):
    result = drills.reconciler_timer(tmp_path, callers=3)
    assert result.details["seconds"] < 5
    assert not result.details["second_worker_ran"]
    assert_everyone_served_once(result)
