"""Webhook throughput and latency: /voice/incoming + one menu step, against the production server.

Starts a real redis-server and `ivr serve` (gunicorn, the same options as production) on free
ports, and beside it, under the same gunicorn settings, a bare Flask route returning fixed TwiML
and a "floor" route that only checks the Twilio signature and runs the call step's two Redis
scripts before the same fixed TwiML (what any signed, locked step costs on this stack); drives
each with 1, 8 and 32 concurrent clients (signed requests, keep-alive connections, one selector
loop, requests built before the clock starts) for a fixed number of calls, and prints req/s,
p50/p99 latency per request, the client's own CPU per request and the ratios to bare.

    python bench/webhook_bench.py [--calls 400] [--workers 2] [--threads 16] [--worker-class gevent]
"""

from __future__ import annotations

import argparse
import os
import secrets
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from deploy_config import config_with_fresh_passwords
from twilio.request_validator import RequestValidator

from ivr.local_redis import LocalRedisServer, free_port, wait_port

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-" + secrets.token_hex(8)
VALIDATOR = RequestValidator(TOKEN)
MENU_ACTION = "/voice/menu?step=0"  # where both servers' first answer sends the caller
BARE_APP = '''
from flask import Flask, Response
app = Flask(__name__)
BODY = ('<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="/voice/menu?step=0" input="dtmf" numDigits="1" timeout="6">'
        '<Say language="zh-CN">您好</Say></Gather></Response>')
@app.post("/voice/incoming")
@app.post("/voice/menu")
def fixed():
    return Response(BODY, mimetype="application/xml")
'''
# The floor: what any signed, locked webhook step costs on this stack, with nothing of ours but
# the step's two Redis scripts: the Twilio signature check, then BEGIN (lock + reply + session)
# and COMMIT (session + reply + unlock), then the fixed answer. ivr can't beat this.
FLOOR_APP = BARE_APP.replace("def fixed():\n", '''def fixed():
    if not VALIDATOR.validate(PUBLIC + request.full_path.rstrip("?"), request.form,
                              request.headers.get("X-Twilio-Signature", "")):
        return Response(status=403)
    sid, token = request.form["CallSid"], uuid.uuid4().hex
    keys = [lock_key(sid), reply_key(sid, 0), session_key(sid)]
    if BEGIN(keys=keys, args=[token, 2000, "1"])[0] != 1:
        return Response(status=409)
    COMMIT(keys=[keys[0], keys[2], keys[1]],
           args=[token, '{"step": 1}', BODY, 3600, GRAMMAR_CHANNEL, sid])
''') + '''
import os, uuid
from flask import request
from twilio.request_validator import RequestValidator
from ivr.flow.session import _BEGIN, _COMMIT, GRAMMAR_CHANNEL, lock_key, reply_key, session_key
from ivr.redis_conn import connect
VALIDATOR = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
PUBLIC = os.environ["FLOOR_PUBLIC_URL"]
REDIS = connect(os.environ["REDIS_URL"], None)  # as create_app connects
BEGIN, COMMIT = REDIS.register_script(_BEGIN), REDIS.register_script(_COMMIT)
'''



class Conn:
    """One keep-alive connection walking calls: /voice/incoming, then key 1 at the first menu.

    All connections are driven by one selector loop in this process (no client threads): with
    threads, a response waited up to Python's GIL switch interval (5 ms) before its thread could
    stop the clock, which made the p99 of both servers a figure of the client. Requests are
    built and signed before the clock starts, and responses are read with a minimal parser, so
    the client (on the same 2 cores as the servers) costs little next to either server.
    """

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.call: tuple[bytes, bytes] | None = None
        self.leg = 0
        self.t0 = 0.0

    def send(self, request: bytes) -> None:
        self.t0 = time.perf_counter()
        self.sock.sendall(request)  # small: fits the socket buffer of a fresh request

    def response(self) -> bytes | None:
        """The body of the response once all of it has arrived (None: not yet)."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buf[:head_end]
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(self.buf) < head_end + 4 + length:
            return None
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"HTTP {head[:40]!r} {self.buf[head_end:head_end + 200]!r}")
        body = self.buf[head_end + 4:head_end + 4 + length]
        self.buf = self.buf[head_end + 4 + length:]
        return body


def signed_request(port: int, path: str, params: dict[str, str]) -> bytes:
    """A signed Twilio webhook POST, as bytes on the wire."""
    body = urllib.parse.urlencode(params)
    sig = VALIDATOR.compute_signature(f"http://127.0.0.1:{port}{path}", params)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {sig}\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()


def prepare(port: int, calls: int) -> list[tuple[bytes, bytes]]:
    """Each call's two requests: /voice/incoming, then key 1 at the first menu (step 0)."""
    out = []
    for _ in range(calls):
        params = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32,
                  "From": "+8613912345678", "To": "+8657100000000",
                  "CallStatus": "in-progress", "Direction": "inbound"}
        out.append((signed_request(port, "/voice/incoming", params),
                    signed_request(port, MENU_ACTION, {**params, "Digits": "1"})))
    return out


def drive(port: int, concurrency: int, calls: int) -> dict[str, float]:
    work = prepare(port, calls)
    lat: list[float] = []
    conns = [Conn(port) for _ in range(concurrency)]
    sel = selectors.DefaultSelector()
    expected = b'action="' + MENU_ACTION.encode() + b'"'  # both servers send the caller on

    def next_call(conn: Conn) -> None:
        if work:
            conn.call, conn.leg = work.pop(), 0
            conn.send(conn.call[0])
        else:
            conn.call = None
            sel.unregister(conn.sock)

    t0, cpu0 = time.perf_counter(), time.process_time()
    for conn in conns:
        sel.register(conn.sock, selectors.EVENT_READ, conn)
        next_call(conn)
    while sel.get_map():
        for key, _ in sel.select(30):
            conn = key.data
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            conn.buf += chunk
            body = conn.response()
            if body is None:
                continue
            lat.append(time.perf_counter() - conn.t0)
            if conn.leg == 0:
                if expected not in body:
                    raise RuntimeError(f"unexpected answer to /voice/incoming: {body[:300]!r}")
                conn.leg = 1
                conn.send(conn.call[1])
            else:
                next_call(conn)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    for conn in conns:
        conn.sock.close()
    lat.sort()
    return {
        "calls_per_s": calls / wall,
        "req_per_s": len(lat) / wall,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "client_us": cpu / len(lat) * 1e6,  # this process's CPU per request: the client's cost
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=16, help="gthread only")
    ap.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent",
                    help="the same for both servers (ivr serve's default is gevent)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    redis_server = LocalRedisServer(tmp).start()
    ports = {"ivr": free_port(), "floor": free_port(), "bare": free_port()}
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "REDIS_URL": redis_server.url,
           "TWILIO_AUTH_TOKEN": TOKEN, "IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp / "var"),
           # a real token: `ivr serve` needs a public URL and agents without demo passwords
           "IVR_PUBLIC_URL": f"http://127.0.0.1:{ports['ivr']}",
           "FLOOR_PUBLIC_URL": f"http://127.0.0.1:{ports['floor']}",
           "IVR_CONFIG_DIR": str(config_with_fresh_passwords(tmp))}
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve", "--bind", f"127.0.0.1:{ports['ivr']}",
             "--workers", str(args.workers), "--threads", str(args.threads),
             "--worker-class", args.worker_class, "--no-media"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        (tmp / "bare_app.py").write_text(BARE_APP)
        (tmp / "floor_app.py").write_text(FLOOR_APP)
        for name in ("floor", "bare"):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--chdir", str(tmp), "-w", str(args.workers),
                 "--threads", str(args.threads), "-k", args.worker_class,
                 "-b", f"127.0.0.1:{ports[name]}", f"{name}_app:app"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in ports.values():
            wait_port(port)
        time.sleep(2)
        for port in ports.values():
            drive(port, 4, 40)  # warm-up: imports, first prompt lookups, connections
        print(f"webhook benchmark: {args.calls} calls (incoming + one menu step) per run, "
              f"gunicorn {args.workers} {args.worker_class} workers"
              f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''} "
              f"for each server, {os.cpu_count()} CPUs, client on the same machine")
        print("ivr: `ivr serve`; floor: fixed TwiML after the signature check and the step's two "
              "Redis scripts; bare: fixed TwiML. cl us: the client's own CPU per request")
        print(f"{'clients':>7} | {'ivr req/s':>9} {'p50 ms':>6} {'p99 ms':>6} {'cl us':>5} | "
              f"{'floor req/s':>11} {'p50 ms':>6} {'p99 ms':>6} | "
              f"{'bare req/s':>10} {'p50 ms':>6} {'p99 ms':>6} {'cl us':>5} | "
              f"ivr/bare floor/bare")
        for conc in (1, 8, 32):
            got = {name: drive(port, conc, args.calls) for name, port in ports.items()}
            ivr, floor, bare = got["ivr"], got["floor"], got["bare"]
            print(f"{conc:>7} | {ivr['req_per_s']:>9.1f} {ivr['p50_ms']:>6.2f} "
                  f"{ivr['p99_ms']:>6.2f} {ivr['client_us']:>5.0f} | "
                  f"{floor['req_per_s']:>11.1f} {floor['p50_ms']:>6.2f} {floor['p99_ms']:>6.2f} | "
                  f"{bare['req_per_s']:>10.1f} {bare['p50_ms']:>6.2f} {bare['p99_ms']:>6.2f} "
                  f"{bare['client_us']:>5.0f} | {ivr['req_per_s'] / bare['req_per_s']:>8.2f} "
                  f"{floor['req_per_s'] / bare['req_per_s']:>10.2f}")
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
