"""An unreachable Twilio stays visible in the log without a warning every reconcile pass."""

from __future__ import annotations

import logging

from ivr.app import create_app
from ivr.routing.reconcile import REPEAT_WARNING
from tests.helpers import make_settings


def test_unreachable_twilio_warns_once_per_stretch_and_says_when_it_is_back(
        tmp_path, redis_server, twilio_stub, caplog):
    stub = twilio_stub
    settings = make_settings(tmp_path, redis_server.url,
                             twilio_api_base=f"http://127.0.0.1:{stub.port}")
    reconciler = create_app(settings, speech=False).extensions["ivr"].reconciler
    stub.failing = True
    caplog.set_level(logging.DEBUG, logger="ivr.routing.reconcile")
    passes = 2 * REPEAT_WARNING + 1
    for _ in range(passes):
        assert reconciler.run_once(lease=False) is None  # nothing changed on a guess
    lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(lines) == passes  # every pass is still logged (at DEBUG)
    warned = [r.getMessage() for r in lines if r.levelno == logging.WARNING]
    assert len(warned) == 3 and "(1 pass(es) in a row)" in warned[0]
    stub.failing, stub.members = False, []
    caplog.clear()
    assert reconciler.run_once(lease=False) is not None
    assert any(f"after {passes} failed" in r.getMessage() and r.levelno == logging.INFO
               for r in caplog.records)
