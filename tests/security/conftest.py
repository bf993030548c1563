"""The real app (create_app) on a real Redis, its REST calls going to a recording Twilio stub."""

from __future__ import annotations

import pytest

from ivr.app import create_app
from tests.helpers import make_settings
from tests.routing.conftest import TwilioStub

TWILIO_ROUTES = (  # every Twilio-facing webhook (test_every_voice_route_is_listed keeps it true)
    "/voice/incoming", "/voice/menu", "/voice/status", "/voice/fallback", "/voice/scam-warning",
    "/voice/wait", "/voice/wait/callback", "/voice/queue-exit", "/voice/bridge",
    "/voice/bridge-done", "/voice/callback-status",
)


@pytest.fixture
def stub():
    s = TwilioStub()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def app(tmp_path, redis_server, redis_client, stub):
    settings = make_settings(tmp_path, redis_server.url,
                             twilio_api_base=f"http://127.0.0.1:{stub.port}")
    return create_app(settings, speech=False)


@pytest.fixture
def client(app):
    return app.test_client()
