"""Interactive mode: typed keys reach the Gather, the terminal shows what the caller hears."""

from __future__ import annotations

import io
import os
import threading
import time

from rich.console import Console

from ivr.sim.interactive import run_interactive


def test_typed_keys_reach_gather_and_output_shows_prompts(fake_app, make_sim):
    fake_app.route("/voice/incoming", '<Response><Gather numDigits="1" timeout="30" '
                   'action="/voice/menu"><Say>请按零</Say></Gather></Response>')
    fake_app.route("/voice/menu", "<Response><Say>您按了零</Say><Hangup/></Response>")
    fake_app.route("/voice/status", "<Response/>")
    sim = make_sim(speed=20.0)
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r")
    out = io.StringIO()
    console = Console(file=out, width=120)

    def typist():
        for _ in range(300):
            if "waiting for keys" in out.getvalue():
                break
            time.sleep(0.01)
        os.write(write_fd, b"0\n")

    threading.Thread(target=typist, daemon=True).start()
    result = run_interactive(sim, "+8613100000000", console, stdin)
    os.close(write_fd)
    assert fake_app.hits("/voice/menu")[0]["form"]["Digits"] == "0"
    assert result.ended_by == "app_hangup"
    text = out.getvalue()
    assert "SAY 请按零" in text and "SAY 您按了零" in text
