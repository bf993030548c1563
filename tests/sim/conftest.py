"""A small stand-in "app under test": fixed TwiML per path, signature checks, a /media socket.

The real app is written elsewhere; these tests pin the simulator to Twilio's behaviour using
apps whose answers are known.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, Response, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.sim.config import SimConfig
from ivr.sim.simulator import Simulator
from ivr.speech.codec import ulaw_wav_bytes

TOKEN = "sim-test-token-0123456789abcdef"
ACCOUNT = "AC" + "2" * 32

Handler = Callable[[dict[str, str]], Any]


class FakeApp:
    """Routes return TwiML (a string, or a function of the form); every request is recorded."""

    def __init__(self, token: str = TOKEN):
        self.validator = RequestValidator(token)
        self.routes: dict[str, Handler | str] = {}
        self.requests: list[dict[str, Any]] = []
        self.ws_sessions: list[dict[str, Any]] = []
        self.ws_handler: Callable[[Any, dict[str, Any]], None] | None = None
        self.flask = Flask("fake-app")
        sock = Sock(self.flask)

        @sock.route("/media")
        def media(ws):
            session = {"headers": dict(request.headers), "url": request.url, "messages": []}
            self.ws_sessions.append(session)
            if self.ws_handler is not None:
                self.ws_handler(ws, session)
                return
            while True:
                raw = ws.receive()
                if raw is None:
                    break
                msg = json.loads(raw)
                session["messages"].append(msg)
                if msg.get("event") == "stop":
                    break

        @self.flask.route("/<path:path>", methods=["GET", "POST"])
        def any_route(path: str):
            path = "/" + path
            form = request.form.to_dict() if request.method == "POST" else {}
            sig = request.headers.get("X-Twilio-Signature", "")
            ok = self.validator.validate(request.url, form, sig)
            self.requests.append({"path": path, "method": request.method, "form": form,
                                  "args": request.args.to_dict(), "signed": ok,
                                  "url": request.url})
            if not ok:
                return Response("bad signature", status=403)
            handler = self.routes.get(path)
            if handler is None:
                return Response("not found", status=404)
            out = handler(form or request.args.to_dict()) if callable(handler) else handler
            if isinstance(out, Response):
                return out
            return Response(out, mimetype="text/xml")

    def route(self, path: str, body: Handler | str) -> None:
        self.routes[path] = body

    def hits(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


def wav_route(seconds: float) -> Response:
    return Response(ulaw_wav_bytes(b"\xff" * int(8000 * seconds)), mimetype="audio/x-wav")


class Served:
    def __init__(self, app: Flask):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fake_app():
    app = FakeApp()
    served = Served(app.flask)
    app.base = served.base  # type: ignore[attr-defined]
    yield app
    served.stop()


@pytest.fixture
def make_sim(fake_app):
    sims: list[Simulator] = []

    def make(rest: bool = True, **overrides: Any) -> Simulator:
        cfg = SimConfig(app_base=fake_app.base, auth_token=TOKEN, account_sid=ACCOUNT,
                        speed=overrides.pop("speed", float("inf")), count_latency=False)
        for k, v in overrides.items():
            setattr(cfg, k, v)
        sim = Simulator(cfg, rest_port=0 if rest else None)
        sims.append(sim)
        return sim

    yield make
    for s in sims:
        s.close()
