"""Probe a running `ivr serve` (real token, production settings) the way an attacker would.

Starts a real redis-server and `ivr serve` (gunicorn + the media process) with a real-looking
TWILIO_AUTH_TOKEN, IVR_PUBLIC_URL and fresh agent passwords, then sends, per Twilio-facing route:
unsigned, garbage-signed, other-token, signed-for-a-forged-Host, tampered-after-signing and
boundary-shifted requests (all must be refused), forged-Host-but-Twilio-signed and plain valid
requests (accepted: the URLs in the answer must still be the public URL); and to /media:
handshakes without a valid signature, and admitted handshakes whose ``start`` is missing the
token, carries another call's or an expired token, replays a used one, opens a second stream for
a call, or sends a 10 MB message. Prints tried / refused / accepted per route.

    python bench/security_probe.py [--per-kind 20]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests
import websocket
from deploy_config import config_with_fresh_passwords
from twilio.request_validator import RequestValidator

from ivr.local_redis import LocalRedisServer, free_port, wait_port
from ivr.speech import stream_messages as sm
from ivr.telephony.stream_token import PARAMETER, make_token

REPO = Path(__file__).resolve().parents[1]
TOKEN = "probe-token-" + secrets.token_hex(8)
SECRET = "probe-secret-" + secrets.token_hex(8)
ACCOUNT = "AC" + secrets.token_hex(16)
ROUTES = ("/voice/incoming", "/voice/menu?step=0", "/voice/status", "/voice/fallback",
          "/voice/scam-warning", "/voice/wait", "/voice/wait/callback", "/voice/queue-exit",
          "/voice/bridge?agent=wang", "/voice/bridge-done", "/voice/callback-status")


def sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


def params(call_sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": call_sid, "AccountSid": ACCOUNT, "From": "+8613912345678",
            "To": "+864008000000", "Caller": "+8613912345678", "CallStatus": "in-progress",
            "Direction": "inbound", "Digits": "1", **extra}



class Probe:
    def __init__(self, base: str, media_port: int):
        self.base = base  # the public URL (what Twilio signs)
        self.media = f"ws://127.0.0.1:{media_port}/media"
        self.signed_media = base.replace("http://", "ws://") + "/media"
        self.http = requests.Session()
        self.results: dict[str, Counter] = defaultdict(Counter)

    def sign(self, url: str, body: dict[str, str], token: str = TOKEN) -> str:
        return RequestValidator(token).compute_signature(url, body)

    def post(self, route: str, body: dict[str, str], sig: str | None,
             host: str | None = None) -> requests.Response:
        headers = {"X-Twilio-Signature": sig} if sig is not None else {}
        if host:
            headers.update({"Host": host, "X-Forwarded-Host": host, "X-Forwarded-Proto": "https"})
        return self.http.post(self.base + route, data=body, headers=headers, timeout=15)

    def record(self, route: str, kind: str, accepted: bool, expected: bool) -> None:
        r = self.results[route.split("?")[0]]
        r["tried"] += 1
        r["accepted" if accepted else "refused"] += 1
        if accepted != expected:
            r["UNEXPECTED"] += 1
            print(f"  unexpected: {kind} on {route} was {'accepted' if accepted else 'refused'}")

    def live_call(self) -> str:
        call = sid()
        body = params(call)
        resp = self.post("/voice/incoming", body, self.sign(self.base + "/voice/incoming", body))
        assert resp.status_code == 200, resp.status_code
        return call

    # ------------------------------------------------------------------ webhooks
    def webhooks(self, per_kind: int) -> None:
        for route in ROUTES:
            url = self.base + route
            for _ in range(per_kind):
                body = params(sid())
                kinds = {
                    "unsigned": (body, None, None),
                    "garbage": (body, secrets.token_hex(14), None),
                    "other token": (body, self.sign(url, body, "not-" + TOKEN), None),
                    "signed for forged host": (
                        body, self.sign("http://attacker.example" + route, body), None),
                    "tampered": ({**body, "From": "+19005550000"}, self.sign(url, body), None),
                }
                for kind, (b, sig, host) in kinds.items():
                    resp = self.post(route, b, sig, host)
                    self.record(route, kind, resp.status_code < 400, False)
                shifted = {k: v for k, v in body.items() if k != "Digits"}
                shifted["Caller"] = body["Caller"] + "Digits1"
                resp = self.post(route, shifted, self.sign(url, shifted))
                expect = route == "/voice/fallback"  # a person, whatever the values say
                self.record(route, "boundary shift", resp.status_code < 400, expect)
            live = self.live_call()
            body = params(live)
            resp = self.post(route, body, self.sign(url, body), host="attacker.example")
            urls = re.findall(r"(?:https?|wss?)://[^\s\"'<>&]+", resp.text)
            good = resp.status_code < 400 and "attacker" not in resp.text and all(
                u.startswith((self.base, self.signed_media)) for u in urls)
            self.record(route, "forged Host, Twilio-signed", good, True)

    # ------------------------------------------------------------------ media
    def ws(self, signed_url: str | None = None, token: str = TOKEN):
        headers = []
        if signed_url is not None:
            headers = [f"X-Twilio-Signature: {self.sign(signed_url, {}, token)}"]
        return websocket.create_connection(self.media, header=headers, timeout=10)

    def media_admitted(self, call: str, tok: str | None, account: str = ACCOUNT,
                       big: bool = False) -> bool:
        """True if the stream carried audio; False if the server closed it."""
        try:
            ws = self.ws(self.signed_media)
        except websocket.WebSocketBadStatusException:
            return False
        try:
            custom = {"dialect": "mandarin", **({PARAMETER: tok} if tok else {})}
            ws.send(sm.start_json(sid("MZ"), call, custom, account_sid=account))
            if big:
                ws.send('{"event":"media","media":{"payload":"' + "A" * 10_000_000 + '"}}')
            ws.send(sm.media_json(sid("MZ"), b"\xff" * 160, 1, 2))
            ws.settimeout(1.5)
            try:
                opcode, _ = ws.recv_data_frame(True)
                return opcode != websocket.ABNF.OPCODE_CLOSE
            except websocket.WebSocketTimeoutException:
                return True  # still open, nothing to say: admitted
        except (websocket.WebSocketException, OSError):
            return False
        finally:
            ws.shutdown()

    def media_probes(self, per_kind: int) -> None:
        route = "/media"
        for _ in range(per_kind):
            for kind, signed, token in (("unsigned", None, TOKEN),
                                        ("other token", self.signed_media, "x" + TOKEN),
                                        ("signed for the Host", self.media, TOKEN)):
                try:
                    self.ws(signed, token).shutdown()
                    self.record(route, kind, True, False)
                except websocket.WebSocketBadStatusException:
                    self.record(route, kind, False, False)
            call, other = self.live_call(), self.live_call()
            now = time.time()
            good = make_token(SECRET, call, now)
            self.record(route, "no token", self.media_admitted(call, None), False)
            self.record(route, "another call's token",
                        self.media_admitted(other, make_token(SECRET, call, now)), False)
            self.record(route, "expired token",
                        self.media_admitted(call, make_token(SECRET, call, now - 3600)), False)
            self.record(route, "other account",
                        self.media_admitted(call, good, account=sid("AC")), False)
            self.record(route, "not a live call", self.media_admitted(sid(), good), False)
            self.record(route, "valid", self.media_admitted(call, good), True)
            self.record(route, "replayed / second stream", self.media_admitted(call, good),
                        False)
            big_call = self.live_call()
            self.record(route, "10 MB message",
                        self.media_admitted(big_call, make_token(SECRET, big_call, now),
                                            big=True), False)
        self.record(route, "service still serving",
                    self.http.get(self.base + "/healthz", timeout=5).status_code == 200, True)

    def report(self) -> int:
        print(f"\n{'route':<24} {'tried':>6} {'refused':>8} {'accepted':>9} {'unexpected':>11}")
        total = Counter()
        for route, c in self.results.items():
            print(f"{route:<24} {c['tried']:>6} {c['refused']:>8} {c['accepted']:>9} "
                  f"{c['UNEXPECTED']:>11}")
            total.update(c)
        print(f"{'total':<24} {total['tried']:>6} {total['refused']:>8} {total['accepted']:>9} "
              f"{total['UNEXPECTED']:>11}")
        return total["UNEXPECTED"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-kind", type=int, default=20, help="requests per kind and route")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ivr-probe-"))
    redis_server = LocalRedisServer(tmp).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "REDIS_URL": redis_server.url, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_ACCOUNT_SID": ACCOUNT, "IVR_SECRET_KEY": SECRET, "IVR_PUBLIC_URL": base,
           "TWILIO_API_BASE": "http://127.0.0.1:9", "IVR_ROOT": str(REPO),
           "IVR_VAR_DIR": str(tmp / "var"), "IVR_CONFIG_DIR": str(config_with_fresh_passwords(tmp)),
           "IVR_AGENT_API_TOKEN": "probe-agent-token", "IVR_AGENT_API_AGENT": "wang"}
    proc = subprocess.Popen([sys.executable, "-m", "ivr", "serve", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "serve.log", "wb"))  # noqa: SIM115
    try:
        wait_port(port)
        wait_port(port + 1)
        time.sleep(2)
        probe = Probe(base, port + 1)
        started = time.time()
        probe.webhooks(args.per_kind)
        probe.media_probes(max(1, args.per_kind // 4))
        print(f"security probe of `ivr serve` (real token, public URL {base}), "
              f"{time.time() - started:.1f} s")
        unexpected = probe.report()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        redis_server.stop()
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
