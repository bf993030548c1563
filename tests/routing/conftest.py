"""A small app with only the routing blueprints, a real Redis and a local Twilio REST stand-in."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
import yaml
from flask import Flask
from twilio.request_validator import RequestValidator

from ivr.config.models import CallbackSettings, QueuePhrases
from ivr.flow.session import SessionStore
from ivr.routing import console, dispatch
from ivr.routing.agents_config import AgentsConfig
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import CallQueue, queue_retention
from ivr.services import EXTENSION_KEY, Services
from ivr.settings import Settings
from ivr.telephony import queue_routes
from ivr.telephony.rest import CallControl, make_client
from ivr.understanding.audit import ScamAudit

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
QUEUE_SID = "QU" + "2" * 32
PUBLIC = "https://ivr.example.test"
API_TOKEN = "shared-api-token-for-tests"
DEMO_PASSWORDS = {"wang": "demo-wang-1234", "chan": "demo-chan-1234", "li": "demo-li-1234"}
REPO = Path(__file__).resolve().parents[2]


@dataclass
class TwilioStub:
    """Records REST calls; answers like api.twilio.com for queues, members and calls."""

    calls: list[dict] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # member CallSids that answer 404
    failing: bool = False  # every request answers 500
    members: list[str] | None = None  # Twilio's queue members; None: the list answers 404
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                stub.calls.append({"method": "GET", "path": self.path, "form": {}})
                if stub.failing:
                    return self._reply(500, {"message": "down", "status": 500})
                if re.search(r"/Queues\.json", self.path):
                    return self._reply(200, {"queues": [
                        {"sid": QUEUE_SID, "friendly_name": "hotline", "account_sid": ACCOUNT}
                    ], "next_page_uri": None})
                if stub.members is not None and re.search(r"/Members\.json", self.path):
                    return self._reply(200, {"queue_members": [
                        {"call_sid": sid, "queue_sid": QUEUE_SID} for sid in stub.members
                    ], "next_page_uri": None})
                return self._reply(404, {"message": "not found", "status": 404})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stub.calls.append({"method": "POST", "path": self.path, "form": form})
                if stub.failing:
                    return self._reply(500, {"message": "down", "status": 500})
                m = re.search(r"/Queues/(QU\w+)/Members/(CA\w+)\.json", self.path)
                if m:
                    if m.group(2) in stub.gone:
                        return self._reply(404, {"message": "member not found", "status": 404,
                                                 "code": 20404})
                    return self._reply(200, {"call_sid": m.group(2), "queue_sid": m.group(1),
                                             "position": 1, "wait_time": 3})
                if self.path.endswith("/Calls.json"):
                    return self._reply(201, {"sid": "CA" + "9" * 32, "status": "queued",
                                             "to": form.get("To"), "from": form.get("From")})
                return self._reply(404, {"message": "not found", "status": 404})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def posts(self, fragment: str) -> list[dict]:
        return [c for c in self.calls if c["method"] == "POST" and fragment in c["path"]]


@pytest.fixture
def twilio_stub():
    stub = TwilioStub()
    stub.start()
    yield stub
    stub.stop()


def demo_agents() -> AgentsConfig:
    return AgentsConfig.model_validate(
        yaml.safe_load((REPO / "config" / "agents.yaml").read_text(encoding="utf-8"))
    )


def make_app(redis_client, stub: TwilioStub, tmp_path: Path, agents: AgentsConfig | None = None,
             public_url: str | None = PUBLIC, dev_mode: bool = True,
             shared_agent: str | None = "chan") -> Flask:
    settings = Settings(
        root=REPO, config_dir=REPO / "config", grammars_dir=REPO / "grammars",
        voices_dir=REPO / "voices", var_dir=tmp_path, twilio_account_sid=ACCOUNT,
        twilio_auth_token=AUTH_TOKEN, agent_api_token=API_TOKEN, secret_key="test-secret",
        dev_mode=dev_mode, agent_api_agent=shared_agent,
    )
    service = SimpleNamespace(public_url=public_url, trusted_proxies=[],
                              callbacks=CallbackSettings(),
                              twilio=SimpleNamespace(queue_name="hotline"),
                              failsafe=SimpleNamespace(dial=None))
    menus = SimpleNamespace(phrases=SimpleNamespace(queue=QueuePhrases()))
    config = SimpleNamespace(current=SimpleNamespace(service=service, menus=menus,
                                                     agents=agents or demo_agents()))
    calls = CallControl(make_client(ACCOUNT, AUTH_TOKEN,
                                    api_base=f"http://127.0.0.1:{stub.port}"))
    app = Flask(__name__)
    app.secret_key = settings.secret_key
    app.extensions[EXTENSION_KEY] = Services(
        settings=settings, config=config, redis=redis_client, calls=calls,
        sessions=SessionStore(redis_client, 3600, 0),
        queue=CallQueue(redis_client, lambda: config.current.agents.queue,
                        retention=lambda: queue_retention(config.current.service)),
        outcomes=Outcomes(redis_client), audit=ScamAudit(redis_client),
    )
    app.register_blueprint(queue_routes.bp)
    app.register_blueprint(console.bp)
    dispatch._queue_sids.clear()
    return app


@pytest.fixture
def app(redis_client, twilio_stub, tmp_path):
    return make_app(redis_client, twilio_stub, tmp_path)


def signed_post(client, path: str, params: dict, base: str = PUBLIC):
    """POST as Twilio would: form params plus X-Twilio-Signature over the public URL."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})
