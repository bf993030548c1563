"""Fault drills: the real app on a real HTTP server, a real redis-server, the Twilio stand-in.

Each drill places calls that ask for a person, breaks something on the way (Redis killed, REST
errors, lost callbacks...), lets agents accept through the console API, and counts from the
stand-in's side what callers lived through: ``lost`` = never reached an agent, ``double`` =
reached one twice. ``tests/faults`` asserts on these results; ``bench/faults.py`` prints them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import requests

from ivr.local_redis import free_port
from ivr.sim.call import SimCall
from ivr.sim.config import AgentConfig
from ivr.sim.drill_rig import (  # noqa: F401 - the rig is part of this module's API
    ACCOUNT,
    AGENTS,
    MEMBERS,
    REPO,
    TOKEN,
    DrillResult,
    Rig,
    _bridged,
    agent_token,
    copy_root,
)


def redis_kill9(workdir: Path, callers: int = 100) -> DrillResult:
    """External Redis with AOF: callers queued, kill -9, restart: all still there, all served."""
    rig = Rig(workdir)
    try:
        calls = rig.place(callers)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 90,
                       "callers queued")
        time.sleep(2.5)  # appendfsync everysec (up to 2 s when fsync is slow): a crash now
        assert rig.redis is not None
        rig.redis.kill()
        time.sleep(0.5)
        rig.redis.start()
        kept = len(rig.svc.queue)
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        result = rig.result("redis kill -9 (AOF)", calls, f"{kept} in Redis after restart")
        result.details["kept"] = kept
        return result
    finally:
        rig.close()


def embedded_restart(workdir: Path, callers: int = 20) -> DrillResult:
    """The default embedded Redis: callers queued, its server killed -9 and the service
    restarted (new app, new embedded server on the same data): callers still there."""
    rig = Rig(workdir, redis="embedded")
    try:
        calls = rig.place(callers)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 90,
                       "callers queued")
        time.sleep(1.5)
        rig.stop_app()
        rig.kill_embedded_redis()
        rig.start_app()
        kept = len(rig.svc.queue)
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        result = rig.result("embedded Redis kill -9 + service restart", calls,
                            f"{kept} in Redis after restart")
        result.details["kept"] = kept
        return result
    finally:
        rig.close()


def redis_down_press0(workdir: Path, callers: int = 10, via: str = "wait") -> DrillResult:
    """Redis down while callers press 0: each gets the failsafe <Enqueue> (with waitUrl);
    Redis back (empty): all become visible and are served, through the wait poll or (with a
    hold interval too long for a poll to come) through the reconciler."""
    queue = {"hold_announcement_interval_seconds": 600} if via == "reconciler" else None
    rig = Rig(workdir, queue=queue)
    try:
        assert rig.redis is not None
        calls = rig.place(callers, steps=[{"press": "0", "after": 20}])
        rig.wait_until(lambda: all(rig.svc.sessions.load(c.sid) for c in calls), 60,
                       "callers at the first menu")
        rig.redis.kill()  # while they listen to the menu; then they press 0
        for f in rig.redis.folder.glob("appendonly*"):
            f.unlink()  # Redis comes back empty: nothing of these callers is left
        rig.wait_until(lambda: rig.in_twilio_queue(calls), 60, "callers in Twilio's queue")
        # their first wait poll (answered by the queue routes' failsafe) is over before Redis
        # comes back, so with a 10-minute hold interval only the reconciler can find them
        rig.wait_until(lambda: all(_enqueue_had_wait_url(c) for c in calls), 60,
                       "first wait poll")
        failsafe = sum(1 for c in calls if _answered_by_failsafe(c))
        rig.redis.start()
        if via == "reconciler":
            report = rig.svc.reconciler.run_once()
            added = len(report.added) if report else 0
            notes = f"reconciler added {added}"
            visible = len(rig.svc.queue)
        else:
            rig.wait_until(lambda: rig.queued_in_redis(calls), 60, "visible after a wait poll")
            notes = "visible via wait poll"
            added = 0
            visible = len(rig.svc.queue)
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        with_wait = sum(1 for c in calls if _enqueue_had_wait_url(c))
        result = rig.result(f"Redis down, press 0 ({via})", calls,
                            f"{failsafe} failsafe answers, {with_wait} polled waitUrl; {notes}")
        result.details.update(enqueue_with_wait_url=with_wait, failsafe=failsafe,
                              added=added, visible=visible)
        return result
    finally:
        rig.close()


def _answered_by_failsafe(call: SimCall) -> bool:
    """The menu webhook (press 0) went unanswered by the flow: Redis was down."""
    return any(e.kind == "say" and "系统繁忙" in str(e.detail) for e in call.log.events)


def _enqueue_had_wait_url(call: SimCall) -> bool:
    """Did the call's <Enqueue> carry a waitUrl? (the stand-in logs each wait poll)"""
    return any(e.kind == "webhook" and "/voice/wait" in str(e.detail.get("url", ""))
               for e in call.log.events)


REST_FAULTS: dict[str, dict[str, Any]] = {
    "404 not yet queued": {"status": 404, "times": 2},
    "404 longer than the retry": {"status": 404, "times": 12},
    "401": {"status": 401, "times": 3},
    "429": {"status": 429, "times": 3},
    "500": {"status": 500, "times": 3},
    "timeout, applied": {"stall": 1.5, "applied": True, "times": 2},
    "timeout, not applied": {"stall": 1.5, "applied": False, "times": 2},
}


def rest_fault(workdir: Path, name: str, callers: int = 5) -> DrillResult:
    """The stand-in answers the dequeue with ``REST_FAULTS[name]``; agents keep accepting."""
    rig = Rig(workdir)
    try:
        calls = rig.place(callers)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "callers queued")
        assert rig.sim.rest is not None
        fault = rig.sim.rest.inject("POST", MEMBERS, **REST_FAULTS[name])
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        return rig.result(f"REST {name}", calls, f"fault hit {fault.hits}x")
    finally:
        rig.close()


def ghost(workdir: Path, callers: int = 5) -> DrillResult:
    """Callers hang up in the queue but Twilio's callbacks (status, Enqueue action) are lost:
    the reconciler closes their entries once their wait polls stopped for the ghost timeout."""
    rig = Rig(workdir)
    try:
        calls = rig.place(callers, drop_paths=("/voice/status", "/voice/queue-exit"))
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "callers queued")
        for c in calls:
            c.schedule_hangup()
        rig.wait_until(lambda: all(c.done.is_set() for c in calls), 30, "hung up")
        stranded = len(rig.svc.queue)
        rules = rig.svc.config.current.agents.queue
        cutoff = rules.ghost_after_intervals * rules.hold_announcement_interval_seconds
        early = rig.svc.reconciler.run_once(lease=False)  # within the timeout: kept
        later = rig.svc.reconciler.run_once(now=time.time() + cutoff + 1, lease=False)
        left = len(rig.svc.queue)
        result = rig.result("status callback lost (ghosts)", calls,
                            f"{stranded} ghosts, {len(later.ghosts) if later else 0} closed "
                            f"after {cutoff:.0f} s, {left} left", expect_hangup=True)
        result.details.update(stranded=stranded, left=left,
                              early_closed=len(early.ghosts) if early else None)
        result.lost = left  # a ghost left behind is what this drill counts as lost
        return result
    finally:
        rig.close()


def bridged_scam(workdir: Path) -> DrillResult:
    """A caller with an agent says a scam phrase: no redirect, the agent's context annotated."""
    rig = Rig(workdir, agent=AgentConfig(answer_after=1, talk_seconds=600))
    try:
        calls = rig.place(1)
        call = calls[0]
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "queued")
        status, body = rig.accept("wang")
        rig.wait_until(lambda: _bridged(call), 30, "bridged")
        before = len(rig.sim.rest.requests) if rig.sim.rest else 0
        rig.svc.speech_actions.on_speech(call.sid, "他们让我把钱转到安全账户，说是公安局的",
                                         True, False)
        time.sleep(0.5)
        redirects = [r for r in (rig.sim.rest.requests[before:] if rig.sim.rest else [])
                     if r["path"].endswith(f"/Calls/{call.sid}.json")]
        entry = rig.svc.queue.get(call.sid)
        annotated = bool(entry and entry.context.get("scam"))
        still = not call.done.is_set() and sum(
            1 for e in call.log.events if e.kind == "bridged") == 1
        result = rig.result("scam phrase while bridged", calls,
                            f"redirects {len(redirects)}, context annotated {annotated}")
        result.details.update(redirects=len(redirects), annotated=annotated,
                              still_with_agent=still, entry=entry)
        return result
    finally:
        rig.close()


FALLBACK_TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response>'
                  '<Say language="zh-CN">正在为您转接人工服务，请稍候。</Say>'
                  '<Dial>+864008000999</Dial></Response>')


def worker_kill(workdir: Path, callers: int = 50, workers: int = 3,
                kills: int = 4) -> DrillResult:
    """``ivr serve`` with several gunicorn workers; one is killed -9 while 50 calls run.
    Twilio's Fallback URL (a static TwiML outside the service that dials the staffed number,
    as README advises) catches the webhooks the dead worker dropped."""
    import subprocess
    import sys

    rig = Rig(workdir)  # its in-process app is only used for Redis reads below
    proc = None
    try:
        port = free_port()
        var = workdir / "serve-var"
        from ivr.private_files import private_dir, write_private
        from ivr.settings import DEV_TOKEN_FILE

        private_dir(var)  # dev mode (demo agents allowed): the auth token is var's dev token
        write_private(var / DEV_TOKEN_FILE, TOKEN)
        env = {k: v for k, v in os.environ.items()
               if k not in ("TWILIO_AUTH_TOKEN", "IVR_AGENT_API_TOKEN", "IVR_AGENT_API_AGENT")}
        env.update({"IVR_ROOT": str(rig.root), "IVR_VAR_DIR": str(var),
                    "REDIS_URL": rig.redis.url if rig.redis else "",
                    "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_BASE": rig.sim.rest_base,
                    "IVR_PUBLIC_URL": f"http://127.0.0.1:{port}",
                    "IVR_SECRET_KEY": "drill-secret", "PYTHONPATH": str(REPO)})
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--no-media"],  # production worker class (gevent)
            cwd=str(rig.root), env=env, stdout=subprocess.DEVNULL,
            stderr=open(workdir / "serve.log", "wb"),  # noqa: SIM115
            start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        rig.wait_until(lambda: requests.get(base + "/healthz", timeout=1).ok, 60, "serve up")
        rig.sim.config.app_base = base
        assert rig.sim.rest is not None
        rig.sim.rest.static["fallback.xml"] = FALLBACK_TWIML
        rig.sim.config.fallback_url = f"{rig.sim.rest_base}/static-twiml/fallback.xml"
        calls = rig.place(callers, steps=[{"press": "1", "after": 1},
                                          {"press": "0", "after": 1}])
        killed: list[int] = []
        for i in range(kills):
            # kill -9 one worker mid-traffic (gunicorn starts a new one); it is frozen first, so
            # webhooks on its connections are in flight when it dies.
            time.sleep(0.05 if i == 0 else 1.0)  # the first webhooks, then menus and transfers
            pids = _worker_pids(proc.pid)
            victims = pids[i % len(pids):][:1] if pids else []
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            time.sleep(0.5)
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed += victims
        rig.wait_until(lambda: all(c.queue is not None or _bridged(c) or c.done.is_set()
                                   for c in calls), 90, "every call queued or with a person")
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        fallbacks = sum(1 for c in calls if any(e.kind == "fallback" for e in c.log.events))
        result = rig.result("worker kill -9 during calls", calls,
                            f"{len(killed)} workers killed, {fallbacks} calls via the "
                            "Fallback URL")
        result.details.update(fallbacks=fallbacks, killed=killed)
        return result
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(Exception):
                proc.wait(20)
        rig.close()


def _worker_pids(master: int) -> list[int]:
    """gunicorn worker pids (children of the master), waiting until they are up."""
    for _ in range(100):
        try:
            out = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            out = []
        if out:
            return [int(p) for p in out]
        time.sleep(0.1)
    return []


def stray_id(workdir: Path) -> DrillResult:
    """A CallSid in a skill set without its entry hash: accept returns, Redis stays responsive."""
    rig = Rig(workdir)
    try:
        q = rig.svc.queue
        q.r.zadd(q.skill_key("cantonese"), {"CA" + "0" * 32: 0})
        q.r.zadd(q.k_open, {"CA" + "1" * 32: 0})
        calls = rig.place(1)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "queued")
        start = time.monotonic()
        status, body = rig.accept("chan")  # chan has the cantonese skill
        seconds = time.monotonic() - start
        pong = q.r.ping()
        rig.wait_bridged(calls)
        result = rig.result("stray id in a skill set", calls,
                            f"accept answered {status} in {seconds:.2f} s; PING {pong}")
        result.details.update(status=status, seconds=seconds, pong=pong,
                              strays=q.r.zcard(q.skill_key("cantonese")) + q.r.zcard(q.k_open))
        return result
    finally:
        rig.close()


def stale_queue_sid(workdir: Path, callers: int = 5) -> DrillResult:
    """The process remembers a queue SID Twilio no longer knows (404 on every member): the app
    looks the queue up again instead of closing every caller as gone."""
    from ivr.routing import dispatch

    rig = Rig(workdir)
    try:
        calls = rig.place(callers)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "callers queued")
        name = rig.svc.config.current.service.twilio.queue_name
        dispatch._queue_sids[(id(rig.svc.calls), name)] = "QU" + "f" * 32
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        return rig.result("stale queue SID", calls, "queue looked up again")
    finally:
        rig.close()


def reconciler_timer(workdir: Path, callers: int = 3) -> DrillResult:
    """Entries lost from Redis while callers hold (no wait poll due for 10 minutes): the
    background reconciler puts them back within its interval; a second worker's reconciler
    finds the lease taken and does nothing."""
    from ivr.routing.reconcile import Reconciler

    rig = Rig(workdir, queue={"hold_announcement_interval_seconds": 600})
    try:
        calls = rig.place(callers)
        rig.wait_until(lambda: rig.queued_in_redis(calls) and rig.in_twilio_queue(calls), 60,
                       "callers queued")
        time.sleep(0.3)  # their first wait poll is done; the next one is 10 minutes away
        for c in calls:
            rig.svc.queue.remove(c.sid)
        timer = Reconciler(rig.svc, rig.svc.flow, interval=3.0)  # lease: 2.7 s
        timer.start()
        try:
            start = time.monotonic()
            rig.wait_until(lambda: rig.queued_in_redis(calls), 10, "reconciled")
            seconds = time.monotonic() - start
            other = Reconciler(rig.svc, rig.svc.flow, interval=1.0).run_once()
        finally:
            timer.stop()
        rig.serve_all(calls)
        rig.wait_bridged(calls)
        result = rig.result("entries lost, background reconciler", calls,
                            f"back in {seconds:.1f} s; second worker leased out: "
                            f"{other is None}")
        result.details.update(seconds=seconds, second_worker_ran=other is not None)
        return result
    finally:
        rig.close()
