"""A Twilio Media Streams client: what Twilio sends over the WebSocket for <Stream>.

Messages follow Twilio's "Media Streams - WebSocket Messages" page: ``connected``, ``start``
(streamSid, callSid, accountSid, tracks, customParameters, mediaFormat), ``media`` (base64 8 kHz
mu-law, 20 ms = 160 bytes, chunk + timestamp in ms), ``dtmf`` (bidirectional only), ``mark`` echoes
and ``stop``. Frames follow the call's virtual clock, so the app hears the caller's audio at the
virtual instant the caller spoke. The handshake carries ``X-Twilio-Signature`` computed over the
stream URL with no parameters, as Twilio does for the WebSocket request.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections import deque
from typing import Any

import websocket

from ivr.sim.audio import ULAW_SILENCE, CallerAudio
from ivr.sim.clock import CallLog, VirtualClock
from ivr.sim.webhook import new_sid
from ivr.speech.codec import FRAME_BYTES, FRAME_MS, TELEPHONE_RATE

log = logging.getLogger(__name__)

_TRACKS = {"inbound_track": ["inbound"], "outbound_track": ["outbound"],
           "both_tracks": ["inbound", "outbound"]}


class MediaStream:
    """One <Stream>: a writer thread pacing frames on the virtual clock, a reader for replies."""

    def __init__(
        self,
        *,
        url: str,
        call_sid: str,
        account_sid: str,
        signature: str,
        clock: VirtualClock,
        caller_audio: CallerAudio,
        call_log: CallLog,
        parameters: dict[str, str] | None = None,
        track: str = "inbound_track",
        bidirectional: bool = False,
        name: str | None = None,
        poll_seconds: float = 0.01,
    ):
        self.url = url
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.signature = signature
        self.clock = clock
        self.audio = caller_audio
        self.log = call_log
        self.parameters = parameters or {}
        self.tracks = _TRACKS[track]
        self.bidirectional = bidirectional
        self.stream_sid = new_sid("MZ")
        self.name = name or self.stream_sid
        self.poll_seconds = poll_seconds
        self.sent: list[dict[str, Any]] = []  # every message sent (tests inspect framing)
        self.received: list[dict[str, Any]] = []
        self.closed = threading.Event()  # the server closed the socket (ends <Connect>)
        self._stop = threading.Event()
        self._seq = 0
        self._chunk = 0
        self._start_frame = 0
        self._ws: websocket.WebSocket | None = None
        self._send_lock = threading.Lock()
        self._dtmf: deque[str] = deque()
        self._marks: deque[tuple[str, float]] = deque()  # (name, virtual time it has played)
        self._playback_end = 0.0
        self.outbound_seconds = 0.0  # app audio heard by the caller on a bidirectional stream
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Connect, send connected + start, then stream in the background."""
        self._ws = websocket.create_connection(
            self.url, header=[f"X-Twilio-Signature: {self.signature}"], timeout=10,
            enable_multithread=True,
        )
        self._start_frame = int(self.clock.now() * 1000) // FRAME_MS
        self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"}, seq=False)
        self._send({
            "event": "start",
            "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": self.tracks,
                "customParameters": dict(self.parameters),
                "mediaFormat": {
                    "encoding": "audio/x-mulaw", "sampleRate": TELEPHONE_RATE, "channels": 1,
                },
            },
            "streamSid": self.stream_sid,
        })
        self.log.add("stream_start", url=self.url, stream_sid=self.stream_sid,
                     bidirectional=self.bidirectional, name=self.name)
        for target in (self._writer, self._reader):
            th = threading.Thread(target=target, daemon=True, name=f"stream-{target.__name__}")
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        """Flush audio up to now, send ``stop`` and close (call ended or <Stop><Stream>)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._threads:
            self._threads[0].join(5)
        try:
            self._flush()
            self._send({"event": "stop", "stop": {"accountSid": self.account_sid,
                                                  "callSid": self.call_sid},
                        "streamSid": self.stream_sid})
        except (websocket.WebSocketException, OSError):
            pass
        try:
            if self._ws is not None:
                self._ws.close()
        except (websocket.WebSocketException, OSError):
            pass
        self.log.add("stream_stop", stream_sid=self.stream_sid, frames=self._chunk)

    def send_dtmf(self, digit: str) -> None:
        """Caller pressed a key: only bidirectional streams get ``dtmf`` messages."""
        if self.bidirectional and not self._stop.is_set():
            self._dtmf.append(digit)

    # --- internals ---------------------------------------------------------------------------

    def _send(self, msg: dict[str, Any], seq: bool = True) -> None:
        with self._send_lock:  # writer and reader threads both send; numbers stay in order
            if self._ws is None:
                return
            if seq:
                self._seq += 1
                msg = {"event": msg["event"], "sequenceNumber": str(self._seq),
                       **{k: v for k, v in msg.items() if k != "event"}}
            self._ws.send(json.dumps(msg))
            self.sent.append(msg)

    def _writer(self) -> None:
        try:
            while not self._stop.is_set() and not self.closed.is_set():
                self._flush()
                self._stop.wait(self.poll_seconds)
        except (websocket.WebSocketException, OSError) as exc:
            self.closed.set()
            self.log.add("stream_error", stream_sid=self.stream_sid, error=str(exc))

    def _flush(self) -> None:
        """Send every frame (and due dtmf/mark) up to the clock's current time."""
        now = self.clock.now()
        target = int(now * 1000) // FRAME_MS - self._start_frame
        while self._chunk < target:
            index = self._start_frame + self._chunk
            self._chunk += 1
            for track in self.tracks:
                payload = self.audio.frame(index) if track == "inbound" else (
                    ULAW_SILENCE * FRAME_BYTES)
                self._send({"event": "media", "media": {
                    "track": track, "chunk": str(self._chunk),
                    "timestamp": str((self._chunk - 1) * FRAME_MS),
                    "payload": base64.b64encode(payload).decode("ascii"),
                }, "streamSid": self.stream_sid})
        while self._dtmf:
            digit = self._dtmf.popleft()
            self._send({"event": "dtmf", "streamSid": self.stream_sid,
                        "dtmf": {"track": "inbound_track", "digit": digit}})
        while self._marks and self._marks[0][1] <= now:
            self._send_mark(self._marks.popleft()[0])

    def _send_mark(self, name: str) -> None:
        self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
        self.log.add("stream_mark", name=name)

    def _reader(self) -> None:
        ws = self._ws
        assert ws is not None
        ws.settimeout(None)
        while not self._stop.is_set():
            try:
                raw = ws.recv()
            except (websocket.WebSocketException, OSError):
                break
            if not raw:
                break
            try:
                msg = json.loads(raw)
            except ValueError:
                self.log.add("stream_error", error=f"non-JSON message: {str(raw)[:60]!r}")
                continue
            self.received.append(msg)
            self._on_message(msg)
        if not self._stop.is_set():
            self.closed.set()
            self.log.add("stream_closed_by_app", stream_sid=self.stream_sid)

    def _on_message(self, msg: dict[str, Any]) -> None:
        event = msg.get("event")
        if not self.bidirectional:
            self.log.add("stream_ignored", event=event, reason="unidirectional stream")
            return
        now = self.clock.now()
        if event == "media":
            payload = base64.b64decode(msg.get("media", {}).get("payload", ""))
            seconds = len(payload) / TELEPHONE_RATE
            self._playback_end = max(self._playback_end, now) + seconds
            self.outbound_seconds += seconds
        elif event == "mark":
            name = msg.get("mark", {}).get("name", "")
            self._marks.append((name, max(self._playback_end, now)))
        elif event == "clear":
            self._playback_end = now
            pending = list(self._marks)
            self._marks.clear()
            for name, _ in pending:  # Twilio returns the marks of cleared audio at once
                self._send_mark(name)
            self.log.add("stream_clear", marks=len(pending))
        else:
            self.log.add("stream_error", error=f"unexpected event {event!r} from app")
