"""Webhook throughput and latency: /voice/incoming + one menu step, against the production server.

Starts a real redis-server and `ivr serve` (gunicorn, the same options as production) on free
ports, and beside it a bare Flask route returning fixed TwiML under the same gunicorn settings;
drives both with 1, 8 and 32 concurrent clients (signed requests, keep-alive connections) for a
fixed number of calls each, and prints calls/s, p50/p99 latency per request and the ratio.

    python bench/webhook_bench.py [--calls 400] [--workers 2] [--threads 16] [--worker-class gevent]
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from deploy_config import config_with_fresh_passwords
from twilio.request_validator import RequestValidator

from ivr.local_redis import LocalRedisServer, free_port

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-" + secrets.token_hex(8)
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


def wait_http(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


class Client:
    """One keep-alive connection posting signed Twilio webhooks."""

    def __init__(self, port: int):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.validator = RequestValidator(TOKEN)

    def post(self, path: str, params: dict[str, str]) -> tuple[float, str]:
        body = urllib.parse.urlencode(params)
        sig = self.validator.compute_signature(self.base + path, params)
        t0 = time.perf_counter()
        self.conn.request("POST", path, body, {
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig,
            "Host": f"127.0.0.1:{self.port}"})
        resp = self.conn.getresponse()
        data = resp.read().decode()
        dt = time.perf_counter() - t0
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status} {data[:200]}")
        return dt, data


def one_call(client: Client, lat: list[float]) -> None:
    sid = "CA" + secrets.token_hex(16)
    params = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+8613912345678",
              "To": "+8657100000000", "CallStatus": "in-progress", "Direction": "inbound"}
    dt, body = client.post("/voice/incoming", params)
    lat.append(dt)
    start = body.index('action="') + len('action="')
    action = body[start:body.index('"', start)].replace("&amp;", "&")
    dt, _ = client.post(action, {**params, "Digits": "1"})
    lat.append(dt)


def drive(port: int, concurrency: int, calls: int) -> dict[str, float]:
    lat: list[float] = []
    lock = threading.Lock()
    left = [calls]

    def worker() -> None:
        client = Client(port)
        mine: list[float] = []
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            one_call(client, mine)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "calls_per_s": calls / wall,
        "req_per_s": len(lat) / wall,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
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
    app_port, bare_port = free_port(), free_port()
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "REDIS_URL": redis_server.url,
           "TWILIO_AUTH_TOKEN": TOKEN, "IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp / "var"),
           # a real token: `ivr serve` needs a public URL and agents without demo passwords
           "IVR_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
           "IVR_CONFIG_DIR": str(config_with_fresh_passwords(tmp))}
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ivr", "serve", "--bind", f"127.0.0.1:{app_port}",
             "--workers", str(args.workers), "--threads", str(args.threads),
             "--worker-class", args.worker_class, "--no-media"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        (tmp / "bare_app.py").write_text(BARE_APP)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--chdir", str(tmp), "-w", str(args.workers),
             "--threads", str(args.threads), "-k", args.worker_class,
             "-b", f"127.0.0.1:{bare_port}",
             "bare_app:app"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(app_port)
        wait_http(bare_port)
        time.sleep(2)
        drive(app_port, 4, 40)  # warm-up: imports, first prompt lookups
        drive(bare_port, 4, 40)
        print(f"webhook benchmark: {args.calls} calls (incoming + one menu step) per run, "
              f"gunicorn {args.workers} {args.worker_class} workers"
              f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}, "
              f"{os.cpu_count()} CPUs, client on the same machine")
        print(f"{'clients':>7} | {'ivr calls/s':>11} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | "
              f"{'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | ivr/bare")
        for conc in (1, 8, 32):
            ivr = drive(app_port, conc, args.calls)
            bare = drive(bare_port, conc, args.calls)
            print(f"{conc:>7} | {ivr['calls_per_s']:>11.1f} {ivr['req_per_s']:>7.1f} "
                  f"{ivr['p50_ms']:>7.2f} {ivr['p99_ms']:>7.2f} | {bare['req_per_s']:>10.1f} "
                  f"{bare['p50_ms']:>7.2f} {bare['p99_ms']:>7.2f} | "
                  f"{ivr['req_per_s'] / bare['req_per_s']:.2f}")
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
