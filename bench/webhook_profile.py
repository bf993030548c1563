"""Where one webhook's time goes: the requests webhook_bench.py sends, in-process, under cProfile.

Builds the app as `ivr serve` does (real config, real redis-server on a free port, the speech
switch as configured), then calls the WSGI app directly with prebuilt environs (no HTTP server
and no test client, whose own cost would hide the app's): /voice/incoming and one signed
/voice/menu step per call. Prints microseconds per request for the app and for a bare Flask route
returning fixed TwiML (the same floor webhook_bench.py compares against), then the profile's top
entries.

    python bench/webhook_profile.py [--calls 2000] [--top 40] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import secrets
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers import make_settings  # noqa: E402

from ivr.local_redis import LocalRedisServer  # noqa: E402

TOKEN = "profile-token-" + secrets.token_hex(8)
HOST = "127.0.0.1:8000"
BASE = f"http://{HOST}"


def environ(path: str, params: dict[str, str]) -> dict:
    """A WSGI environ like gunicorn builds for a signed Twilio POST."""
    path_only, _, query = path.partition("?")
    body = urllib.parse.urlencode(params).encode()
    sig = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    return {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": path_only,
        "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": HOST, "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_TWILIO_SIGNATURE": sig, "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


SPENT = [0.0, 0.0]  # wall and CPU seconds inside the app only (building a request: the client)


def call(app: Callable, path: str, params: dict[str, str]) -> str:
    status: list[str] = []
    env = environ(path, params)
    t0, c0 = time.perf_counter(), time.thread_time()
    out = b"".join(app(env, lambda s, h, exc=None: status.append(s)))
    SPENT[0] += time.perf_counter() - t0
    SPENT[1] += time.thread_time() - c0
    if not status[0].startswith("200"):
        raise RuntimeError(f"{path}: {status[0]} {out[:200]!r}")
    return out.decode()


def one_call(app: Callable) -> None:
    params = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32,
              "From": "+8613912345678", "To": "+8657100000000", "CallStatus": "in-progress",
              "Direction": "inbound"}
    body = call(app, "/voice/incoming", params)
    start = body.index('action="') + len('action="')
    action = body[start:body.index('"', start)].replace("&amp;", "&")
    call(app, action, {**params, "Digits": "1"})


def bare_app():
    from flask import Flask, Response

    app = Flask("bare")
    fixed = ('<?xml version="1.0" encoding="UTF-8"?><Response>'
             '<Gather action="/voice/menu?step=0" input="dtmf" numDigits="1" timeout="6">'
             '<Say language="zh-CN">您好</Say></Gather></Response>')

    @app.post("/voice/incoming")
    @app.post("/voice/menu")
    def answer():
        return Response(fixed, mimetype="application/xml")

    return app


def per_request_us(app: Callable, calls: int) -> tuple[float, float]:
    """(wall, CPU) microseconds per request; wall includes waiting for Redis."""
    SPENT[0] = SPENT[1] = 0.0
    for _ in range(calls):
        one_call(app)
    return SPENT[0] / (2 * calls) * 1e6, SPENT[1] / (2 * calls) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.INFO, stream=io.StringIO())  # as served: INFO, not shown
    tmp = Path(tempfile.mkdtemp(prefix="ivr-profile-"))
    redis_server = LocalRedisServer(tmp / "redis").start()
    try:
        from ivr.app import create_app

        settings = make_settings(tmp, redis_server.url, twilio_auth_token=TOKEN, public_url=BASE)
        app = create_app(settings, allow_last_good=True)
        bare = bare_app()
        for _ in range(50):  # warm-up: caches, connections, first prompt lookups
            one_call(app)
            one_call(bare)
        ivr_us, bare_us = per_request_us(app, args.calls), per_request_us(bare, args.calls)
        print(f"{args.calls} calls x 2 requests, in-process WSGI (no HTTP):")
        print(f"  ivr  {ivr_us[0]:8.1f} us/request wall {ivr_us[1]:8.1f} CPU")
        print(f"  bare {bare_us[0]:8.1f} us/request wall {bare_us[1]:8.1f} CPU")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.calls):
            one_call(app)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    finally:
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
