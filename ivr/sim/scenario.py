"""YAML scenarios: who calls, what they do, and what must happen (scripted and load modes).

Example (see ivr/sim/scenarios/)::

    name: elder reaches a human without pressing anything
    caller: "+8613800000001"
    steps:                      # consumed one per input opportunity (Gather/Record/Connect)
      - silent: true            # let the first menu time out
      - press: "0"              # at the next Gather, 1 s after its prompts end
        after: 1
      - say: clips/rengong.wav  # speak a clip (streamed on Media Streams)
      - hangup: true            # when: queue -> counted from the moment of enqueue
        after: 20
        when: queue
    hangup_after: 600           # absolute limit (seconds of call time)
    agent: {answer_after: 2, talk_seconds: 10}
    agent_accepts:              # an agent takes the caller through the app's own API
      after: 5                  # seconds after the caller was enqueued
      method: POST
      path: /agent/api/accept
      headers: {Authorization: "Bearer ${IVR_AGENT_API_TOKEN}"}
      json: {agent_id: demo}
      finish: true              # after the call, POST /agent/api/finish (wrap-up) as the agent
    expect:
      hears: ["人工"]           # substrings of a Say text or Play URL
      not_hears: []
      reaches: enqueued         # enqueued | bridged | none
      ended_by: caller_hangup   # caller_hangup | app_hangup | end_of_twiml | rest_completed...
      max_seconds_to_human: 12
      max_seconds_to_queue: 12
      errors: false             # no TwiML/HTTP errors (default)
"""

from __future__ import annotations

import os
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from ivr.sim.call import CallResult, SimCall
from ivr.sim.caller import ScriptedCaller, Step
from ivr.sim.clock import Event
from ivr.sim.config import AgentConfig
from ivr.sim.simulator import Simulator

_TOP_KEYS = {"name", "caller", "to", "steps", "hangup_after", "agent", "agent_accepts",
             "expect", "description"}
_EXPECT_KEYS = {"hears", "not_hears", "reaches", "ended_by", "max_seconds_to_human",
                "max_seconds_to_queue", "errors"}


@dataclass
class Scenario:
    name: str
    caller: str
    steps: list[Step]
    base_dir: Path
    to: str | None = None
    hangup_after: float | None = None
    agent: AgentConfig | None = None
    agent_accepts: dict[str, Any] | None = None
    expect: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        path = Path(path)
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.from_dict(raw, path.parent, default_name=path.stem)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base_dir: Path | None = None,
                  default_name: str = "scenario") -> Scenario:
        unknown = set(raw) - _TOP_KEYS
        if unknown:
            raise ValueError(f"unknown scenario keys: {sorted(unknown)}")
        expect = raw.get("expect") or {}
        bad = set(expect) - _EXPECT_KEYS
        if bad:
            raise ValueError(f"unknown expect keys: {sorted(bad)}")
        agent = AgentConfig(**raw["agent"]) if raw.get("agent") else None
        return cls(
            name=str(raw.get("name", default_name)),
            caller=str(raw.get("caller", "+8613800000000")),
            steps=[Step.from_dict(s) for s in raw.get("steps") or []],
            base_dir=base_dir or Path.cwd(),
            to=raw.get("to"),
            hangup_after=raw.get("hangup_after"),
            agent=agent,
            agent_accepts=raw.get("agent_accepts"),
            expect=expect,
        )

    def make_caller(self, number: str | None = None) -> ScriptedCaller:
        """A fresh caller (steps are consumed, so each run needs its own)."""
        return ScriptedCaller(number or self.caller, list(self.steps), self.hangup_after,
                              self.base_dir)


@dataclass
class Report:
    name: str
    result: CallResult
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> dict[str, Any]:
        r = self.result
        return {
            "name": self.name, "passed": self.passed, "failures": self.failures,
            "call_sid": r.call_sid, "ended_by": r.ended_by, "duration": round(r.duration, 2),
            "seconds_to_queue": _round(r.enqueued_at), "seconds_to_agent": _round(r.bridged_at),
            "seconds_to_human": _round(r.seconds_to_human), "heard": r.heard,
            "errors": r.errors,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def run_scenario(sim: Simulator, scn: Scenario, number: str | None = None) -> Report:
    """Place one call following ``scn`` and check its expectations."""
    if scn.agent is not None:
        sim.config.agent = scn.agent
    call = SimCall(sim, scn.make_caller(number), to=scn.to, listener=sim.listener)
    if scn.agent_accepts:
        _AgentAccepts(sim, call, scn.agent_accepts).attach()
    result = call.run()
    return Report(scn.name, result, check(scn.expect, result))


def check(expect: dict[str, Any], r: CallResult) -> list[str]:
    """Expectation failures, in words a tester can act on."""
    out: list[str] = []
    heard = " | ".join(r.heard)
    for text in expect.get("hears") or []:
        if not any(text in h for h in r.heard):
            out.append(f"never heard {text!r} (heard: {heard[:300]})")
    for text in expect.get("not_hears") or []:
        if any(text in h for h in r.heard):
            out.append(f"heard {text!r} but should not have")
    reaches = expect.get("reaches")
    reached = "bridged" if r.bridged_at is not None else (
        "enqueued" if r.enqueued_at is not None else "none")
    if (reaches == "enqueued" and reached == "none") or (
            reaches in ("bridged", "none") and reached != reaches):
        out.append(f"expected to reach {reaches}, reached {reached}")
    if expect.get("ended_by") and expect["ended_by"] != r.ended_by:
        out.append(f"expected the call to end by {expect['ended_by']}, ended by {r.ended_by}")
    for key, value in (("max_seconds_to_human", r.seconds_to_human),
                       ("max_seconds_to_queue", r.enqueued_at)):
        limit = expect.get(key)
        if limit is not None and (value is None or value > float(limit)):
            shown = "never" if value is None else f"{value:.2f} s"
            out.append(f"{key.removeprefix('max_')}: {shown} > {limit} s")
    if not expect.get("errors", False) and r.errors:
        out.append(f"errors: {r.errors}")
    return out


class _AgentAccepts:
    """Calls the app's agent API some seconds (of call time) after the caller is enqueued."""

    def __init__(self, sim: Simulator, call: SimCall, spec: dict[str, Any]):
        self.sim, self.call, self.spec = sim, call, spec

    def attach(self) -> None:
        previous = self.call.log.listener

        def listener(ev: Event) -> None:
            if previous is not None:
                previous(ev)
            if ev.kind == "enqueued" and not getattr(self, "_started", False):
                self._started = True
                threading.Thread(target=self._run, args=(ev.t,), daemon=True).start()

        self.call.log.listener = listener

    def _run(self, enqueued_t: float) -> None:
        due = enqueued_t + float(self.spec.get("after", 0))
        while self.call.clock.now() < due and not self.call.done.is_set():
            threading.Event().wait(0.005)
        if self.call.done.is_set():
            return
        url = self.sim.config.app_base.rstrip("/") + self.spec.get("path", "/agent/api/accept")
        headers = {k: _expand(str(v)) for k, v in (self.spec.get("headers") or {}).items()}
        try:
            resp = requests.request(self.spec.get("method", "POST"), url, headers=headers,
                                    json=self.spec.get("json"), timeout=10)
            self.call.log.add("agent_accept", status=resp.status_code, url=url)
            if resp.status_code >= 400:
                self.call.error(f"agent accept answered {resp.status_code}: {resp.text[:200]}")
        except requests.RequestException as exc:
            self.call.error(f"agent accept request failed: {exc}")
            return
        finish = self.spec.get("finish")
        if finish:  # wrap-up, as an agent does: free them for the next caller (and the next run)
            self.call.done.wait()
            path = finish.get("path", "/agent/api/finish") if isinstance(finish, dict) \
                else "/agent/api/finish"
            body = finish.get("json", {"disposition": "resolved"}) if isinstance(finish, dict) \
                else {"disposition": "resolved"}
            url = self.sim.config.app_base.rstrip("/") + path
            try:
                resp = requests.post(url, headers=headers, json=body, timeout=10)
                self.call.log.add("agent_finish", status=resp.status_code, url=url)
            except requests.RequestException as exc:
                self.call.log.add("agent_finish", status=None, error=str(exc))


def _expand(value: str) -> str:
    return string.Template(value).safe_substitute(os.environ)
