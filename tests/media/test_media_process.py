"""`ivr media` as its own process beside the web app: a call's stream goes there, and when the
process dies mid-call the caller still walks the menu on keys and reaches a person."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from ivr.local_redis import free_port
from ivr.sim.scenario import Scenario, run_scenario
from tests.e2e.conftest import copy_config, edit_yaml, start_stack
from tests.helpers import ACCOUNT, REPO, TOKEN
from tests.speech.conftest import ko_model_dir  # noqa: F401

pytestmark = pytest.mark.slow


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def wait_for(cond, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def media_stack(tmp_path, redis_server, redis_client, ko_model_dir):  # noqa: F811
    root = copy_config(tmp_path)
    port = free_port()
    edit_yaml(root / "config" / "ivr.yaml", lambda d: (d["speech"].update(
        models={"mandarin": str(ko_model_dir)}, free_form_for_scam=False),
        d.update(media_url=f"ws://127.0.0.1:{port}/media")))
    stack, server = start_stack(tmp_path, redis_server.url, root, speech=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "IVR_ROOT": str(root),
           "IVR_VAR_DIR": str(tmp_path / "var"), "REDIS_URL": redis_server.url,
           "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT,
           "TWILIO_API_BASE": stack.sim.rest_base, "IVR_SECRET_KEY": "test-secret",
           "IVR_PUBLIC_URL": stack.base}
    proc = subprocess.Popen([sys.executable, "-m", "ivr", "media", "--bind", f"127.0.0.1:{port}",
                             "--webhook-base", stack.base], env=env, cwd=str(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: health(port) or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        yield stack, proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        stack.sim.close()
        server.shutdown()


def test_stream_goes_to_the_media_process_and_keys_work_after_it_is_killed(media_stack):
    stack, proc, port = media_stack
    stack.sim.config.speed = 1.0  # a live phone line: the stream is open while the caller waits
    scenario = Scenario.from_dict({
        "name": "media-killed", "caller": "+8613900005555", "hangup_after": 120,
        "steps": [{"press": "1", "after": 3, "barge_in": True},
                  {"press": "0", "after": 1, "barge_in": True},
                  {"hangup": True, "after": 1, "when": "queue"}]})
    reports = []
    caller = threading.Thread(target=lambda: reports.append(run_scenario(stack.sim, scenario)))
    caller.start()
    # the call's stream reached the media process (not the web app), and audio is flowing
    wait_for(lambda: (h := health(port)) and h["active"] == 1 and h["frames"] > 20, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    caller.join(90)
    assert reports, "the call did not finish"
    result = reports[0].result
    assert result.enqueued_at is not None, result.errors
    state = stack.svc.sessions.load(result.call_sid).state
    assert state.transferred and state.transfer_reason == "caller_request"
    assert len(state.path) >= 1  # the key pressed after the kill moved the menu first
    closed = [e for e in result.events if e["kind"] == "stream_closed_by_app"]
    keys = [e for e in result.events if e["kind"] == "dtmf"]
    assert closed and keys and closed[0]["t"] < keys[0]["t"]  # killed before any key
    assert not [e for e in result.errors if "HTTP" in e or "webhook" in e.lower()], result.errors
