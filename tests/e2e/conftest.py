"""End to end: the real app on a real HTTP/WebSocket server, driven by the Twilio stand-in.

The app's Twilio REST base URL points at the stand-in's REST server, so speech and agent actions
(call redirects, dequeues) go through the same HTTP calls they would make to Twilio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from ivr.app import create_app
from ivr.local_redis import free_port
from ivr.sim.config import SimConfig
from ivr.sim.drill_rig import plain_root
from ivr.sim.simulator import Simulator
from tests.helpers import ACCOUNT, TOKEN, make_settings


@dataclass
class Stack:
    app: object
    sim: Simulator
    base: str

    @property
    def svc(self):
        return self.app.extensions["ivr"]


def copy_config(tmp_path: Path) -> Path:
    """A private copy of config/, grammars/ and voices/ (the rendered cache is shared by link)."""
    return plain_root(tmp_path)


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def start_stack(tmp_path: Path, redis_url: str, root: Path, speech=False) -> tuple[Stack, object]:
    sim = Simulator(SimConfig(auth_token=TOKEN, account_sid=ACCOUNT, speed=1000.0), rest_port=0)
    port = free_port()
    settings = make_settings(tmp_path, redis_url, root=root, config_dir=root / "config",
                             grammars_dir=root / "grammars", voices_dir=root / "voices",
                             twilio_api_base=sim.rest_base, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, speech=speech)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.config.app_base = f"http://127.0.0.1:{port}"
    return Stack(app, sim, sim.config.app_base), server


@pytest.fixture
def stack(tmp_path, redis_server, redis_client):
    root = copy_config(tmp_path)
    st, server = start_stack(tmp_path, redis_server.url, root, speech=False)
    yield st
    st.sim.close()
    server.shutdown()


from tests.speech.conftest import ko_model_dir, speech_pool  # noqa: E402, F401  (shared fixtures)
