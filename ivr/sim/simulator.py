"""The simulated Twilio account: live calls, queues, recordings and the REST stand-in together.

One ``Simulator`` is what the app talks to instead of Twilio. Calls it places POST the app's
Voice URL; REST requests the app makes (twilio-python pointed at ``rest_base``) reach the live
calls here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ivr.sim.call import CallResult, SimCall
from ivr.sim.caller import Caller
from ivr.sim.config import SimConfig
from ivr.sim.media_client import MediaStream
from ivr.sim.queues import QueueRegistry
from ivr.sim.twiml import Node
from ivr.sim.webhook import new_sid, resolve
from ivr.speech.codec import ulaw_wav_bytes

log = logging.getLogger(__name__)


class Simulator:
    """Owns everything Twilio would; thread-safe for many concurrent calls (load mode)."""

    def __init__(self, config: SimConfig, rest_port: int | None = None,
                 callee_factory: Callable[[str], Caller] | None = None, listener=None):
        self.config = config
        self.queues = QueueRegistry()
        self.audio_cache: dict[str, float] = {}
        self.recordings: dict[str, bytes] = {}
        self.finished: list[CallResult] = []
        self.callee_factory = callee_factory or (lambda number: _Callee(number))
        self.listener = listener
        self._calls: dict[str, SimCall] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.rest = None
        if rest_port is not None:
            from ivr.sim.rest_server import RestServer

            self.rest = RestServer(self, port=rest_port)
            self.rest.start()

    @property
    def rest_base(self) -> str:
        return self.rest.base_url if self.rest else "http://127.0.0.1:0"

    # --- calls --------------------------------------------------------------------------------

    def place_call(self, caller: Caller, **kwargs: Any) -> CallResult:
        """Run one inbound call to the hotline, blocking until it ends."""
        return SimCall(self, caller, listener=self.listener, **kwargs).run()

    def start_call(self, caller: Caller, **kwargs: Any) -> SimCall:
        """Start a call in a background thread; wait on ``call.done``."""
        call = SimCall(self, caller, listener=self.listener, **kwargs)
        th = threading.Thread(target=call.run, daemon=True, name=f"call-{call.sid[-6:]}")
        with self._lock:
            self._threads.append(th)
        th.start()
        return call

    def create_outbound(self, to: str, from_: str, url: str | None, method: str,
                        twiml_text: str | None, status_callback: str | None) -> SimCall:
        """REST Calls.json: Twilio dials ``to``; the simulated person there answers."""
        callee = self.callee_factory(to)
        call = SimCall(self, callee, to=to, from_=from_, url=url, method=method,
                       direction="outbound-api", status_callback=status_callback,
                       first_twiml=twiml_text, listener=self.listener)
        th = threading.Thread(target=call.run, daemon=True, name=f"out-{call.sid[-6:]}")
        with self._lock:
            self._threads.append(th)
            self._calls[call.sid] = call  # visible to REST at once, before its thread runs
        th.start()
        return call

    def register(self, call: SimCall) -> None:
        with self._lock:
            self._calls[call.sid] = call

    def unregister(self, call: SimCall) -> None:
        with self._lock:
            self._calls.pop(call.sid, None)
            if call.result is not None:
                self.finished.append(call.result)

    def live_call(self, sid: str | None) -> SimCall | None:
        with self._lock:
            return self._calls.get(sid) if sid else None

    def live_calls(self) -> list[SimCall]:
        with self._lock:
            return list(self._calls.values())

    def result_of(self, sid: str) -> CallResult | None:
        with self._lock:
            return next((r for r in self.finished if r.call_sid == sid), None)

    # --- media --------------------------------------------------------------------------------

    def open_stream(self, call: SimCall, noun: Node, doc_url: str,
                    bidirectional: bool) -> MediaStream:
        """<Start><Stream> / <Connect><Stream>: relative URLs resolve to ws(s):// of the doc."""
        url = noun.get("url") or ""
        if not url.startswith(("ws://", "wss://")):
            url = resolve(doc_url, url)
            url = "ws" + url[4:] if url.startswith("http") else url
        if url.startswith("ws://"):
            call.log.add("stream_insecure", url=url, note="real Twilio requires wss://")
        params = {p.get("name"): p.get("value") for p in noun.children if p.name == "Parameter"}
        stream = MediaStream(
            url=url, call_sid=call.sid, account_sid=self.config.account_sid,
            signature=call.hooks.sign(url), clock=call.clock, caller_audio=call.audio,
            call_log=call.log, parameters=params, track=noun.get("track", "inbound_track"),
            bidirectional=bidirectional, name=noun.get("name"),
        )
        try:
            stream.start()
        except Exception as exc:  # noqa: BLE001 - Twilio logs 31920-ish errors and goes on
            call.error(f"<Stream> could not connect to {url}: {exc}")
            stream.closed.set()
            return stream
        call.streams.append(stream)
        return stream

    def store_recording(self, call: SimCall, t0: float, t1: float) -> tuple[str, str]:
        sid = new_sid("RE")
        self.recordings[sid] = ulaw_wav_bytes(call.audio.slice(t0, t1))
        url = f"{self.rest_base}/2010-04-01/Accounts/{self.config.account_sid}/Recordings/{sid}"
        return sid, url

    # --- shutdown -----------------------------------------------------------------------------

    def wait_all(self, timeout: float = 60.0) -> None:
        with self._lock:
            threads = list(self._threads)
        for th in threads:
            th.join(timeout)

    def close(self) -> None:
        for call in self.live_calls():
            call.schedule_hangup()
        self.wait_all(10)
        if self.rest is not None:
            self.rest.stop()


class _Callee(Caller):
    """The person a REST-created call rings: answers and stays silent."""

    def __init__(self, number: str):
        self.number = number
