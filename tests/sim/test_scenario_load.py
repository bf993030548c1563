"""Scenario files, expectations, load mode and the CLI, against a fake hotline."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from ivr.cli.simulate import simulate
from ivr.sim.load import percentile, run_load
from ivr.sim.scenario import Scenario, run_scenario
from ivr.telephony.rest import CallControl, make_client

from .conftest import ACCOUNT, TOKEN

GREETING = "欢迎致电长青银行，人工服务请按零"


def _hotline(fake_app, sim=None) -> None:
    """Greeting Gather -> 0 -> queue; the 2nd wait fetch "accepts" via REST dequeue."""
    fake_app.route("/voice/incoming", f'<Response><Gather numDigits="1" timeout="8" '
                   f'action="/voice/menu"><Say>{GREETING}</Say></Gather>'
                   "<Redirect>/voice/menu?Digits=0</Redirect></Response>")
    fake_app.route("/voice/menu", '<Response><Enqueue waitUrl="/voice/wait" '
                   'action="/voice/queue-exit">hotline</Enqueue></Response>')
    fake_app.route("/voice/queue-exit", "<Response/>")
    fake_app.route("/voice/status", "<Response/>")
    fake_app.route("/voice/agent", "<Response><Say>正在为您接通</Say><Dial><Client>a1</Client>"
                                   "</Dial></Response>")
    counts: dict[str, int] = {}

    def wait(form):
        n = counts[form["CallSid"]] = counts.get(form["CallSid"], 0) + 1
        if sim is not None and n == 2:
            control = CallControl(make_client(ACCOUNT, TOKEN, api_base=sim.rest_base))
            control.dequeue(form["QueueSid"], form["CallSid"], fake_app.base + "/voice/agent")
        return '<Response><Say>请稍候</Say><Pause length="5"/></Response>'

    fake_app.route("/voice/wait", wait)


SCENARIO = {
    "name": "press 0 reaches an agent",
    "caller": "+8613812345678",
    "steps": [{"press": "0", "after": 1}],
    "agent": {"answer_after": 3, "talk_seconds": 5},
    "expect": {"hears": ["人工服务", "接通"], "reaches": "bridged",
               "max_seconds_to_human": 30, "ended_by": "end_of_twiml"},
}


def test_scenario_reports_seconds_to_queue_and_agent(fake_app, make_sim):
    sim = make_sim()
    _hotline(fake_app, sim)
    report = run_scenario(sim, Scenario.from_dict(SCENARIO))
    assert report.passed, report.failures
    s = report.summary()
    greeting = len(GREETING) * 60 / 130
    assert abs(s["seconds_to_queue"] - (greeting + 1)) < 0.01
    # two wait loops of 请稍候 (3 chars) + 5 s pause, then the agent prompt and 3 s of ringing
    assert s["seconds_to_agent"] > s["seconds_to_queue"] + 3
    assert s["seconds_to_human"] == s["seconds_to_agent"]


def test_failed_expectations_are_explained(fake_app, make_sim):
    sim = make_sim()
    _hotline(fake_app, sim)
    bad = dict(SCENARIO, expect={"hears": ["不存在的话"], "max_seconds_to_human": 1,
                                 "reaches": "none"})
    report = run_scenario(sim, Scenario.from_dict(bad))
    text = " ".join(report.failures)
    assert "never heard '不存在的话'" in text
    assert "seconds_to_human" in text and "expected to reach none" in text


def test_load_runs_concurrent_calls_with_distributions(fake_app, make_sim):
    sim = make_sim(speed=500.0)
    _hotline(fake_app, sim)
    report = run_load(sim, Scenario.from_dict(SCENARIO), calls=12, concurrency=4)
    s = report.summary()
    assert s["completed"] == 12, s
    assert s["reached_human"] == 12 and s["errors"] == 0
    assert s["seconds_to_human"]["p50"] is not None
    assert s["webhook_latency_ms"]["p99"] >= s["webhook_latency_ms"]["p50"] > 0
    callers = {r["form"]["From"] for r in fake_app.hits("/voice/incoming")}
    assert len(callers) == 12


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3, 1, 2], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([5], 99) == 5


def test_cli_run_scenario_file(fake_app, tmp_path: Path):
    _hotline(fake_app)
    path = tmp_path / "queue.yaml"
    path.write_text(yaml.safe_dump({
        "name": "silence then queue", "caller": "+8613800000009",
        "steps": [{"silent": True}, {"hangup": True, "after": 12, "when": "queue"}],
        "expect": {"reaches": "enqueued", "ended_by": "caller_hangup",
                   "max_seconds_to_queue": 30},
    }, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(simulate, [
        "run", str(path), "--url", fake_app.base, "--token", TOKEN, "--account-sid", ACCOUNT,
        "--rest-port", "0", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["passed"] and summary["ended_by"] == "caller_hangup"
    assert summary["seconds_to_queue"] > 8  # greeting + 8 s Gather timeout


def test_example_scenarios_are_valid():
    folder = Path(__file__).resolve().parents[2] / "ivr" / "sim" / "scenarios"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for f in files:
        Scenario.load(f)
