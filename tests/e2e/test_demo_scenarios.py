"""The shipped scenarios (ivr/sim/scenarios/, the README's demo) pass against the real service,
with rendered prompt audio and with none (a fresh machine: every prompt a <Say>)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flow.prompts import all_prompt_texts
from ivr.sim.scenario import Scenario, run_scenario
from ivr.speech import espeak_lib

pytestmark = pytest.mark.slow
SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "ivr" / "sim" / "scenarios")
                   .glob("*.yaml"))


@pytest.mark.parametrize("audio", ["rendered", "say"])
def test_every_shipped_scenario_passes(stack, audio, monkeypatch):
    monkeypatch.setenv("IVR_AGENT_API_TOKEN", "agent-api-token")  # agent_accepts.yaml uses it
    svc = stack.svc
    if audio == "rendered":
        if not espeak_lib.engine().usable:
            pytest.skip(espeak_lib.status_line())
        report = svc.voices.render_all(all_prompt_texts(svc.config.current),
                                       modes=("normal", "elder"))
        assert report.failed == 0
    else:
        svc.voices = None
        svc.flow.voices = None
    failures = {}
    for path in SCENARIOS:
        report = run_scenario(stack.sim, Scenario.load(path))
        print(f"{audio:8} {path.name:32} to queue {report.result.enqueued_at}")
        if not report.passed:
            failures[path.name] = report.failures
    assert not failures
    assert len(SCENARIOS) >= 6
