"""`ivr serve`'s gevent workers reach an HTTPS REST API (Twilio's only answers HTTPS).

Found on a fresh run: gunicorn's gevent worker patched ssl after the CLI had imported urllib3,
and every HTTPS request from a worker died with RecursionError (see ivr/gevent_early.py).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivr.gevent_early import serving_with_gevent
from ivr.local_redis import free_port
from tests.helpers import REPO

pytestmark = pytest.mark.slow

QUEUE_SID = "QU" + "1" * 32


def https_stand_in(cert: str, key: str) -> tuple[ThreadingHTTPServer, list[str]]:
    """Answers the reconciler's two GETs (queues, members) over TLS; records the paths."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            if "/Members.json" in self.path:
                body = {"queue_members": [], "next_page_uri": None}
            else:
                body = {"queues": [{"sid": QUEUE_SID, "friendly_name": "hotline"}],
                        "next_page_uri": None}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_the_cli_knows_when_it_will_run_gevent_workers():
    assert serving_with_gevent(["ivr", "serve"])
    assert serving_with_gevent(["ivr", "-v", "serve", "--bind", "127.0.0.1:5000"])
    assert not serving_with_gevent(["ivr", "serve", "--worker-class", "gthread"])
    assert not serving_with_gevent(["ivr", "serve", "--worker-class=gthread"])
    assert not serving_with_gevent(["ivr", "simulate", "call"])


def test_gevent_workers_make_https_rest_calls(tmp_path, redis_server):
    openssl = shutil.which("openssl")
    assert openssl, "openssl (Debian base) makes the test certificate"
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server, seen = https_stand_in(cert, key)
    port = free_port()
    env = {**os.environ, "IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var"),
           "PYTHONPATH": str(REPO), "REDIS_URL": redis_server.url,
           "TWILIO_API_BASE": f"https://127.0.0.1:{server.server_address[1]}",
           "REQUESTS_CA_BUNDLE": cert}
    for name in ("TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ivr", "serve", "--bind",
                                 f"127.0.0.1:{port}", "--no-media", "--workers", "2"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 60
        while not any("/Members.json" in p for p in seen) and time.monotonic() < end:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        text = log.read_text()
        # the queue list came back over TLS and was read: the members call follows it
        assert any("/Members.json" in p for p in seen), (seen, text[-3000:])
        assert "RecursionError" not in text and "unavailable" not in text, text[-3000:]
    finally:
        proc.terminate()
        proc.wait(30)
        server.shutdown()
