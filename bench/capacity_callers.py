"""The callers of `bench/capacity.py`: simulated calls with live media streams, and idle and
slow-header clients. Runs in load-generator processes (forked), so it imports no server code.

Each call, paced in real time, is described in capacity.py's docstring.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import re
import secrets
import subprocess
import time
import urllib.parse
from pathlib import Path

from twilio.request_validator import RequestValidator

from ivr.speech import codec

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "audio"
TOKEN = "bench-token-" + secrets.token_hex(8)  # shared with the server side (same process/fork)
ACCOUNT = "AC" + "0" * 32
FRAME_S = 0.02
ASK_FOR_PERSON = "상담원 연결"
MEDIA_TMPL = ('{"event":"media","sequenceNumber":"%d","media":{"track":"inbound","chunk":"%d",'
              '"timestamp":"%d","payload":"%s"},"streamSid":"%s"}')


# ------------------------------------------------------------------ audio
def b64_frames(ulaw: bytes) -> list[str]:
    ulaw += b"\xff" * (-len(ulaw) % codec.FRAME_BYTES)
    return [base64.b64encode(f).decode() for f in codec.ulaw_frames(ulaw)]


def line_noise(seconds: float, level: int = 40) -> bytes:
    rnd = random.Random(7)
    n = int(seconds * codec.TELEPHONE_RATE)
    pcm = b"".join(int(rnd.gauss(0, level)).to_bytes(2, "little", signed=True) for _ in range(n))
    return codec.pcm16_to_ulaw(pcm)


def load_audio(tmp: Path) -> dict[str, list[str]]:
    wav = tmp / "ask.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), ASK_FOR_PERSON], check=True)
    pcm, rate = codec.read_wav_mono16(wav)
    ask = codec.to_telephone_ulaw(pcm, rate)
    pcm, rate = codec.read_wav_mono16(SHARED_AUDIO / "zh_aishell2_IT0011W0001.wav")
    talk = codec.to_telephone_ulaw(pcm, rate)
    return {"noise": b64_frames(line_noise(1.0)), "ask": b64_frames(ask),
            "talk": b64_frames(talk)}


def call_params(sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT, "From": "+86139" + sid[-8:].translate(
        str.maketrans("abcdef", "123456")), "To": "+8657100000000",
        "CallStatus": "in-progress", "Direction": "inbound", **extra}


# ------------------------------------------------------------------ load generator (a process)
async def http_post(port: int, path: str, params: dict[str, str], validator: RequestValidator,
                    timeout: float = 20.0) -> tuple[float, int, str]:
    body = urllib.parse.urlencode(params).encode()
    sig = validator.compute_signature(f"http://127.0.0.1:{port}{path}", params)
    t0 = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n"
                      "Connection: close\r\n\r\n").encode() + body)
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    dt = time.perf_counter() - t0
    head, _, text = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return dt, status, text.decode("utf-8", "replace")


class GenCall:
    def __init__(self, sid: str):
        self.sid = sid
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.ws = None
        self.queue: list[str] = []  # b64 frames to say, in order
        self.qpos = 0
        self.chunk = 0
        self.noise_pos = 0
        self.speech_end: float | None = None
        self.mark_end = False
        self.stream_lost = False


async def generator(port: int, n: int, offset: int, call_seconds: float, ramp: float,
                    audio: dict[str, list[str]], args_jitter: float = 25.0) -> dict:
    import websockets

    validator = RequestValidator(TOKEN)
    lat: list[float] = []
    errors: list[str] = []
    calls: list[GenCall] = []
    sids: list[str] = []
    stats = {"frames_sent": 0, "tick_lag": [], "streams": 0, "stream_errors": 0}
    done = asyncio.Event()

    async def post(path: str, params: dict[str, str]) -> str:
        try:
            dt, status, text = await http_post(port, path, params, validator)
        except (OSError, asyncio.TimeoutError) as exc:
            errors.append(f"{path}: {type(exc).__name__}")
            return ""
        lat.append(dt)
        if status != 200 and status != 204:
            errors.append(f"{path}: HTTP {status}")
        return text

    def action_of(twiml: str) -> str | None:
        m = re.search(r'<Gather[^>]*action="([^"]+)"', twiml)
        return m.group(1).replace("&amp;", "&") if m else None

    async def one_call(i: int) -> None:
        await asyncio.sleep(ramp * i / max(1, n))
        call = GenCall("CA" + secrets.token_hex(16))
        sids.append(call.sid)
        start = time.monotonic()
        params = call_params(call.sid)
        twiml = await post("/voice/incoming", params)
        m = re.search(r'<Stream[^>]*url="([^"]+)"[^>]*>(.*?)</Stream>', twiml)
        if m:
            url = m.group(1).replace("&amp;", "&")
            custom = dict(re.findall(r'<Parameter name="([^"]+)" value="([^"]*)"', m.group(2)))
            try:
                call.ws = await websockets.connect(
                    url, additional_headers={
                        "X-Twilio-Signature": validator.compute_signature(url, {})},
                    max_queue=None, open_timeout=20, compression=None)
                await call.ws.send(json.dumps({"event": "connected", "protocol": "Call",
                                               "version": "1.0.0"}))
                await call.ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": {
                    "accountSid": ACCOUNT, "streamSid": call.stream_sid, "callSid": call.sid,
                    "tracks": ["inbound"], "customParameters": custom,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                    "channels": 1}}, "streamSid": call.stream_sid}))
                stats["streams"] += 1
                calls.append(call)
            except Exception as exc:  # noqa: BLE001 - counted, the call goes on with keys
                stats["stream_errors"] += 1
                errors.append(f"stream: {type(exc).__name__}")
        action = action_of(twiml)

        async def at(t: float) -> None:
            await asyncio.sleep(max(0.0, start + t - time.monotonic()))

        # callers do not all speak at the same moment: each call's script starts 0-25 s late
        # (seeded), so speech is spread over the run as it is on a real line
        j = random.Random(i).uniform(0.0, args_jitter)
        await at(j + 1.0)
        call.queue.extend(audio["talk"])
        await at(j + 4.0)
        if action:
            twiml = await post(action, {**params, "Digits": "1"})
            action = action_of(twiml) or action
        await at(j + 8.0)
        call.queue.extend(audio["ask"])
        call.mark_end = True
        await at(j + 8.0 + len(audio["ask"]) * FRAME_S + 4.0)
        if action:
            twiml = await post(action, {**params, "Digits": "0"})
        waited = 0
        while time.monotonic() - start < call_seconds - 10:
            await at(j + 8.0 + len(audio["ask"]) * FRAME_S + 4.0 + 10 * (waited + 1))
            waited += 1
            await post("/voice/wait", {**params, "QueueTime": str(10 * waited),
                                       "QueuePosition": "1", "CurrentQueueSize": str(n)})
        await at(call_seconds)
        ws, call.ws = call.ws, None  # the ticker stops sending before the stream is closed
        if ws is not None:
            try:
                await ws.send(json.dumps({"event": "stop", "sequenceNumber": "9",
                                               "streamSid": call.stream_sid,
                                               "stop": {"accountSid": ACCOUNT,
                                                        "callSid": call.sid}}))
                await ws.close()
            except Exception:  # noqa: BLE001 - a dead media process: nothing to close
                pass
            if call in calls:
                calls.remove(call)
            finished.append(call)
        await post("/voice/status", {**params, "CallStatus": "completed", "CallDuration": "60"})

    finished: list[GenCall] = []

    async def ticker() -> None:
        noise = audio["noise"]
        next_t = time.monotonic()
        while not done.is_set():
            next_t += FRAME_S
            delay = next_t - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                stats["tick_lag"].append(-delay)
            now = time.time()
            for call in list(calls):
                if call.ws is None or call.stream_lost:
                    continue
                if call.qpos < len(call.queue):
                    payload = call.queue[call.qpos]
                    call.qpos += 1
                    if call.qpos == len(call.queue) and call.mark_end:
                        call.speech_end = now
                        call.mark_end = False
                else:
                    payload = noise[call.noise_pos % len(noise)]
                    call.noise_pos += 1
                call.chunk += 1
                try:
                    await call.ws.send(MEDIA_TMPL % (call.chunk + 1, call.chunk,
                                                     (call.chunk - 1) * 20, payload,
                                                     call.stream_sid))
                    stats["frames_sent"] += 1
                except Exception:  # noqa: BLE001 - the media process went away
                    call.stream_lost = True

    tick = asyncio.create_task(ticker())
    await asyncio.gather(*(one_call(offset + i) for i in range(n)))
    done.set()
    await tick
    everyone = finished + calls
    lags = sorted(stats["tick_lag"]) or [0.0]
    return {
        "latencies": lat, "errors": errors, "frames_sent": stats["frames_sent"],
        "streams": stats["streams"], "stream_errors": stats["stream_errors"],
        "streams_lost": sum(c.stream_lost for c in everyone),
        "sids": sids,
        "speech_end": {c.sid: c.speech_end for c in everyone if c.speech_end},
        "late_ticks": len(stats["tick_lag"]), "max_tick_lag_ms": lags[-1] * 1000,
    }


def generator_process(port, n, offset, call_seconds, ramp, audio, out, jitter):
    out.put(asyncio.run(generator(port, n, offset, call_seconds, ramp, audio, jitter)))


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


# ------------------------------------------------------------------ idle and slow clients
async def slow_clients(port: int, idle: int, slow: int, hold: float, probes: int) -> dict:
    validator = RequestValidator(TOKEN)
    conns = []
    for _ in range(idle):
        conns.append(await asyncio.open_connection("127.0.0.1", port))
    slow_conns = []
    for _ in range(slow):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        slow_conns.append((r, w))

    async def dribble() -> None:
        i = 0
        while True:
            await asyncio.sleep(2.0)
            i += 1
            for _, w in slow_conns:
                w.write(f"X-Slow-{i}: {i}\r\n".encode())

    trickle = asyncio.create_task(dribble())
    await asyncio.sleep(1.0)
    health, hooks, errors = [], [], 0
    t_end = time.monotonic() + hold
    while time.monotonic() < t_end and len(health) < probes:
        t0 = time.perf_counter()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            w.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Connection: close\r\n\r\n".encode())
            await asyncio.wait_for(r.read(-1), 5)
            w.close()
            health.append(time.perf_counter() - t0)
        except (OSError, asyncio.TimeoutError):
            errors += 1
            health.append(5.0)
        sid = "CA" + secrets.token_hex(16)
        try:
            dt, status, text = await http_post(port, "/voice/incoming", call_params(sid),
                                               validator, timeout=5)
            hooks.append(dt)
            m = re.search(r'<Gather[^>]*action="([^"]+)"', text)
            if m:
                dt, status, _ = await http_post(port, m.group(1).replace("&amp;", "&"),
                                                call_params(sid, Digits="1"), validator, 5)
                hooks.append(dt)
        except (OSError, asyncio.TimeoutError):
            errors += 1
            hooks.append(5.0)
        await asyncio.sleep(0.2)
    trickle.cancel()
    alive = 0
    for _, w in conns + slow_conns:
        alive += not w.is_closing()
        w.close()
    return {"health_p50": pct(health, 0.5) * 1000, "health_p99": pct(health, 0.99) * 1000,
            "hook_p50": pct(hooks, 0.5) * 1000, "hook_p99": pct(hooks, 0.99) * 1000,
            "probes": len(health), "webhooks": len(hooks), "errors": errors,
            "held_open": alive}
