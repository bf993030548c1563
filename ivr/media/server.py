"""The Twilio Media Streams server (``/media``): an asyncio process of its own.

Why a separate process (after Alpha Cephei's vosk-server): a call's stream lasts the whole call;
on gunicorn's threaded workers each one held a webhook thread, so ~30 calls starved the webhooks.
Here one event loop holds every socket; decoding runs in a bounded thread pool (Kaldi releases
the GIL) with at most one job per call in flight, so a slow box shows up as counted dropped
frames, never as a stalled loop. Only what the voice gate passes is decoded.

Per connection: ``connected``, ``start`` (callSid, customParameters such as ``dialect``), ``media``
(inbound 20 ms mu-law), ``dtmf``, ``stop``. A malformed message is counted and skipped. Results go
to ``sink(call_sid, text, final, restricted)`` (the speech actions: Redis + a REST redirect of the
live call) through a ``SinkWorker``, so decoding never waits on them; never to another process's
memory. The menu's grammar is read from Redis when the
call starts and again only when the flow announces a change (``mark_dirty``, fed by pub/sub).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import Counter, Gauge
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ivr.media.call_stream import CallStream, MediaStats
from ivr.speech import codec
from ivr.speech.asr import SpeechService
from ivr.speech.recognizer import (
    GrammarFor,
    Sink,
)
from ivr.speech.sink_worker import SinkWorker
from ivr.speech.stream_messages import (
    Dtmf,
    Media,
    Start,
    Stop,
    StreamMessageError,
    parse_message,
)
from ivr.speech.vad import default_classifier

log = logging.getLogger(__name__)

MEDIA_PATH = "/media"
IDLE_TIMEOUT_S = 60.0  # Twilio sends a frame every 20 ms; a minute of nothing is a dead peer
MAX_STREAM_S = 4 * 3600.0  # no call lasts this long; a stream that does is a leak
START_TIMEOUT_S = 10.0  # Twilio sends ``start`` right after ``connected``
MAX_MESSAGES_BEFORE_START = 10
MAX_MESSAGE_BYTES = 64 * 1024  # enforced by the WebSocket layer (close 1009), never buffered
POLICY_VIOLATION = 1008

MEDIA_STREAMS = Counter("ivr_media_streams_total", "Media Streams connections", ["outcome"])
MEDIA_ACTIVE = Gauge("ivr_media_streams_active", "Media Streams connections open now")

AuthCheck = Callable[[str, Any], bool]  # (path with query, headers) -> allowed
Admit = Callable[[Start], "str | None"]  # start message -> None (admitted) or the reason not
DtmfSink = Callable[[str, str], None]


class MediaServer:
    """The media process's server: sockets on one loop, decoding on ``workers`` threads."""

    def __init__(
        self,
        speech: SpeechService | None,
        sink: Sink,
        grammar_for: GrammarFor | None = None,
        *,
        auth: AuthCheck | None = None,
        admit: Admit | None = None,
        max_stream_seconds: float = MAX_STREAM_S,
        start_timeout_seconds: float = START_TIMEOUT_S,
        on_dtmf: DtmfSink | None = None,
        workers: int | None = None,
        queue_frames: int = 250,
        free_form: bool | None = None,
        config_version: Callable[[], str | None] = lambda: None,
        classifier_factory: Callable[[], Callable[[bytes], bool]] | None = None,
        path: str = MEDIA_PATH,
        box_stats: Callable[[], dict[str, Any]] | None = None,
    ):
        import os

        self.speech = speech if speech is not None and speech.enabled else None
        # decoder threads only queue results; the sink's Redis reads and REST redirects run on
        # the sink's own workers (ivr.speech.sink_worker)
        self.sink = SinkWorker(sink)
        self.grammar_for = grammar_for
        self.auth = auth
        self.admit = admit
        self.max_stream_seconds = max_stream_seconds
        self.start_timeout_seconds = start_timeout_seconds
        self.on_dtmf = on_dtmf
        self.workers = workers or max(2, (os.cpu_count() or 1) * 2)
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="asr")
        self.queue_frames = queue_frames
        self.free_form = (speech.free_form if speech is not None else False) \
            if free_form is None else free_form
        self.config_version = config_version
        self.vad_name, _ = default_classifier()
        self.classifier_factory = classifier_factory or (lambda: default_classifier()[1])
        self.path = path
        self.stats = MediaStats()
        self.box_stats = box_stats  # every media process on this port (``?box=1``)
        self.calls: dict[str, CallStream] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self.port: int | None = None

    # ---------------------------------------------------------------- grammar announcements
    def mark_dirty(self, call_sid: str | None = None) -> None:
        """The flow changed a call's menu (None: every call, e.g. after a lost subscription)."""
        if call_sid is None:
            for call in list(self.calls.values()):
                call.grammar_dirty = True
            return
        call = self.calls.get(call_sid)
        if call is not None:
            call.grammar_dirty = True

    # ---------------------------------------------------------------- HTTP side of the socket
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/healthz":
            counters = (self.box_stats() if self.box_stats is not None and "box=1" in query
                        else self.stats.as_dict())
            body = json.dumps({"status": "ok", "vad": self.vad_name,
                               "speech": self.speech is not None, "workers": self.workers,
                               **counters})
            resp = connection.respond(200, body + "\n")
            resp.headers["Content-Type"] = "application/json"
            return resp
        if path != self.path:
            return connection.respond(404, "not found\n")
        if self.auth is not None and not self.auth(request.path, request.headers):
            self.stats.add("rejected")
            MEDIA_STREAMS.labels(outcome="rejected").inc()
            log.warning("rejected media stream with bad or missing signature")
            return connection.respond(403, "forbidden\n")
        return None

    # ---------------------------------------------------------------- one connection
    async def _handler(self, ws: ServerConnection) -> None:
        self.stats.add("connections")
        self.stats.add("active")
        MEDIA_STREAMS.labels(outcome="accepted").inc()
        MEDIA_ACTIVE.inc()
        call: CallStream | None = None
        started = ws.ivr_last = ws.ivr_opened = time.monotonic()  # type: ignore[attr-defined]
        ws.ivr_admitted = False  # type: ignore[attr-defined]
        before_start = 0
        try:
            async for raw in ws:
                ws.ivr_last = now = time.monotonic()  # type: ignore[attr-defined]
                try:
                    msg = parse_message(raw)
                except StreamMessageError as exc:
                    msg = None
                    self.stats.count_malformed(exc.reason)
                except Exception:  # whatever a message holds, it must not drop the stream
                    msg = None
                    self.stats.count_malformed("bad_message")
                if call is None and not isinstance(msg, Start):
                    before_start += 1
                    if isinstance(msg, Media):
                        self.stats.count_malformed("media_before_start")
                    if (before_start > MAX_MESSAGES_BEFORE_START
                            or now - started > self.start_timeout_seconds):
                        await self._refuse(ws, "no_start")
                        return
                    continue
                if msg is None:
                    continue
                if isinstance(msg, Media):
                    if msg.track != "inbound":
                        continue  # the caller is what we listen to; never our own prompts
                    n = len(msg.payload) // codec.FRAME_BYTES
                    self.stats.frames += n  # loop thread only
                    call.feed(msg.payload)
                    if now - started > self.max_stream_seconds:
                        log.warning("stream for %s exceeded %.0f s; closing", call.call_sid,
                                    self.max_stream_seconds)
                        return
                elif isinstance(msg, Start):
                    if call is not None:
                        self.stats.count_malformed("second_start")
                        continue
                    reason = await self._admission(msg)
                    if reason is not None:
                        log.warning("refused media stream for %s: %s", msg.call_sid[:40], reason)
                        await self._refuse(ws, reason)
                        return
                    ws.ivr_admitted = True  # type: ignore[attr-defined]
                    call = self._open(msg)
                elif isinstance(msg, Dtmf):
                    if self.on_dtmf is not None:
                        self.on_dtmf(call.call_sid, msg.digit)
                elif isinstance(msg, Stop):
                    return
        except ConnectionClosed:
            pass
        finally:
            self.stats.add("active", -1)
            MEDIA_ACTIVE.dec()
            if call is not None:
                await self._close(call)

    async def _admission(self, start: Start) -> str | None:
        """The admission check (Redis I/O) off the event loop; None = admitted."""
        if self.admit is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self.admit, start)
        except Exception:
            log.exception("media stream admission failed for %s", start.call_sid[:40])
            return "admission_error"

    async def _refuse(self, ws: ServerConnection, reason: str) -> None:
        self.stats.add("rejected")
        with self.stats._lock:
            self.stats.refused[reason] += 1
        MEDIA_STREAMS.labels(outcome=f"refused_{reason}").inc()
        await ws.close(POLICY_VIOLATION, reason)

    def _open(self, start: Start) -> CallStream:
        model = None
        params = start.custom_parameters
        if self.speech is not None:
            try:
                model = self.speech.pool.get(self.speech.model_dir(params.get("dialect")))
            except Exception:  # a model that fails to load must not crash the server
                log.exception("no model for %s; draining its audio", start.call_sid)
        free = _flag(params.get("free_form"))
        call = CallStream(self, start.call_sid, model,
                          self.free_form if free is None else free)
        old = self.calls.get(start.call_sid)
        if old is not None:  # Twilio restarted the stream for this call
            old.finish()
        self.calls[start.call_sid] = call
        self.stats.sessions_active = len(self.calls)
        return call

    async def _close(self, call: CallStream) -> None:
        call.finish()
        try:
            await asyncio.wait_for(call.idle.wait(), 5.0)
        except asyncio.TimeoutError:
            log.warning("decoder of %s did not drain in time", call.call_sid)
        if self.calls.get(call.call_sid) is call:
            del self.calls[call.call_sid]
        self.stats.sessions_active = len(self.calls)

    async def _sweep_idle(self) -> None:
        """Close sockets whose peer stopped sending audio, that never sent an admitted
        ``start``, or that outlived the maximum stream duration (one task for all calls)."""
        period = min(IDLE_TIMEOUT_S, self.start_timeout_seconds, self.max_stream_seconds) / 4
        closing: set[asyncio.Task] = set()  # a close waits for the peer: never one at a time

        def close(coro) -> None:
            task = asyncio.create_task(coro)
            closing.add(task)
            task.add_done_callback(closing.discard)

        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for conn in list(getattr(self._server, "connections", ())):
                last = getattr(conn, "ivr_last", None)
                opened = getattr(conn, "ivr_opened", None)
                if last is None or opened is None or getattr(conn, "ivr_closing", False):
                    continue
                if last < now - IDLE_TIMEOUT_S:
                    conn.ivr_closing = True
                    close(conn.close())
                elif not getattr(conn, "ivr_admitted", False) and \
                        now - opened > self.start_timeout_seconds:
                    conn.ivr_closing = True
                    close(self._refuse(conn, "no_start"))
                elif now - opened > self.max_stream_seconds:
                    log.warning("a media stream exceeded %.0f s; closing",
                                self.max_stream_seconds)
                    conn.ivr_closing = True
                    close(conn.close())

    # ---------------------------------------------------------------- running
    async def serve(self, host: str, port: int, ready: Callable[[int], None] | None = None,
                    stop: asyncio.Event | None = None, reuse_port: bool = False) -> None:
        """Serve until ``stop`` is set (forever without one). ``reuse_port``: several media
        processes share the port and the kernel spreads new streams over them."""
        self._loop = asyncio.get_running_loop()
        async with serve(self._handler, host, port, process_request=self._process_request,
                         max_size=MAX_MESSAGE_BYTES, compression=None, ping_interval=20,
                         ping_timeout=20, max_queue=64, reuse_port=reuse_port) as server:
            self._server = server
            sweeper = asyncio.create_task(self._sweep_idle())
            self.port = next(iter(server.sockets)).getsockname()[1]
            log.info("media streams on ws://%s:%d%s (vad=%s, %d decoder threads, speech %s)",
                     host, self.port, self.path, self.vad_name, self.workers,
                     "on" if self.speech is not None else "off")
            if ready is not None:
                ready(self.port)
            try:
                await (stop.wait() if stop is not None else asyncio.Future())
            finally:
                sweeper.cancel()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Run on a background thread (tests, embedded use); returns the bound port."""
        got: list[int] = []
        started = threading.Event()
        self._stop_event: asyncio.Event | None = None

        def run() -> None:
            async def main() -> None:
                self._stop_event = asyncio.Event()
                await self.serve(host, port, lambda p: (got.append(p), started.set()),
                                 self._stop_event)

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name="media-server", daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("media server did not start")
        return got[0]

    def stop(self) -> None:
        if self._loop is not None and getattr(self, "_stop_event", None) is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
            self._thread.join(10)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.sink.close()


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}
