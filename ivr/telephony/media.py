"""The Twilio Media Streams WebSocket (``/media``): caller audio in, transcripts to the sink.

One connection per ``<Start><Stream>``: ``connected``, ``start`` (callSid, customParameters such
as ``dialect``), ``media`` frames (inbound track only), ``stop``. Audio goes to a per-call speech
session (decoded on its own threads, see ``ivr.speech.asr``); each recognised utterance reaches
``sink(call_sid, text, final, restricted)``. A malformed message is counted and skipped: a bad
frame must never cost an elderly caller the call.

Twilio signs the WebSocket upgrade request with ``X-Twilio-Signature`` over the stream URL
(``wss://...``) and no parameters; it is checked before the handshake when a token is configured.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import Blueprint, Flask, abort, current_app, request
from flask_sock import Sock
from prometheus_client import Counter

from ivr.speech.asr import Sink, SpeechService
from ivr.speech.stream_messages import (
    Dtmf,
    Media,
    Start,
    Stop,
    StreamMessageError,
    parse_message,
)
from ivr.telephony.signature import signature_ok, signed_url

log = logging.getLogger(__name__)

MEDIA_PATH = "/media"
IDLE_TIMEOUT_S = 60.0  # Twilio sends a frame every 20 ms; a minute of nothing is a dead peer

MEDIA_MALFORMED = Counter(
    "ivr_media_malformed_total", "Media Streams messages skipped as malformed", ["reason"]
)
MEDIA_STREAMS = Counter("ivr_media_streams_total", "Media Streams connections", ["outcome"])

AuthContext = Callable[[], "tuple[str, str | None, Iterable[str]]"]
DtmfSink = Callable[[str, str], None]


@dataclass
class MediaStats:
    """Process-wide socket counters (plain, for tests and /healthz; Prometheus has the same)."""

    connections: int = 0
    rejected: int = 0
    frames: int = 0
    malformed: Tally = field(default_factory=Tally)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_malformed(self, reason: str) -> None:
        with self._lock:
            self.malformed[reason] += 1
        MEDIA_MALFORMED.labels(reason=reason).inc()

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())


def services_auth_context() -> tuple[str, str | None, Iterable[str]]:
    """(auth token, public URL, trusted proxies) from the app's services, like the webhooks."""
    from ivr.services import get_services

    svc = get_services()
    service = svc.config.current.service
    return svc.settings.twilio_auth_token, service.public_url, service.trusted_proxies


def register_media_socket(
    app_or_sock: Flask | Sock,
    speech_service: SpeechService | None,
    sink: Sink,
    *,
    auth_context: AuthContext | None = None,
    on_dtmf: DtmfSink | None = None,
    path: str = MEDIA_PATH,
) -> MediaStats:
    """Add the ``path`` WebSocket route to the app; returns its counters.

    ``auth_context`` returns (auth_token, public_url, trusted_proxies) at request time; with a
    token the handshake's ``X-Twilio-Signature`` must verify (403 otherwise). None means the
    app's services when present (``current_app.extensions["ivr"]``), else no check.
    ``speech_service`` None or disabled: the socket still accepts and drains the stream.
    """
    sock = app_or_sock if isinstance(app_or_sock, Sock) else Sock()
    app = app_or_sock if isinstance(app_or_sock, Flask) else app_or_sock.app
    if app is None:
        raise ValueError("register_media_socket needs a Flask app or a Sock bound to one")
    stats = MediaStats()
    bp = Blueprint("media_stream", __name__)

    @bp.before_request
    def _check_signature():
        context = auth_context
        if context is None and "ivr" in current_app.extensions:
            context = services_auth_context
        if context is None:
            return None
        token, public_url, proxies = context()
        if not token:
            return None
        http_url = signed_url(request, public_url, proxies)
        ws_url = re.sub(r"^http", "ws", http_url)
        if signature_ok(request, token, ws_url) or signature_ok(request, token, http_url):
            return None
        stats.rejected += 1
        MEDIA_STREAMS.labels(outcome="rejected").inc()
        log.warning("rejected media stream with bad or missing signature: %s", ws_url)
        abort(403)

    @sock.route(path, bp=bp)
    def media(ws) -> None:
        stats.connections += 1
        MEDIA_STREAMS.labels(outcome="accepted").inc()
        _serve(ws, speech_service, sink, on_dtmf, stats)

    app.register_blueprint(bp)
    return stats


def _serve(ws, service: SpeechService | None, sink: Sink, on_dtmf: DtmfSink | None,
           stats: MediaStats) -> None:
    """Read messages until ``stop`` or disconnect; the speech session is always closed."""
    session = None
    call_sid = ""
    try:
        while True:
            raw = ws.receive(timeout=IDLE_TIMEOUT_S)
            if raw is None:
                log.info("media stream for %s idle for %.0f s; closing", call_sid or "-",
                         IDLE_TIMEOUT_S)
                return
            try:
                msg = parse_message(raw)
            except StreamMessageError as exc:
                stats.count_malformed(exc.reason)
                log.debug("skipped malformed media message (%s)", exc)
                continue
            if isinstance(msg, Media):
                if not call_sid:
                    stats.count_malformed("media_before_start")
                    continue
                if msg.track != "inbound":
                    continue  # the caller is what we listen to; never the prompts we play
                stats.frames += len(msg.payload) // 160
                if session is not None:
                    session.feed(msg.payload)
            elif isinstance(msg, Start):
                if call_sid:
                    stats.count_malformed("second_start")
                    continue
                call_sid = msg.call_sid
                session = _open(service, msg, sink)
            elif isinstance(msg, Dtmf):
                if on_dtmf is not None and call_sid:
                    on_dtmf(call_sid, msg.digit)
            elif isinstance(msg, Stop):
                return
            # connected, mark: nothing to do
    finally:
        if session is not None and service is not None:
            service.close(session)


def _open(service: SpeechService | None, start: Start, sink: Sink):
    if service is None or not service.enabled:
        return None
    params = start.custom_parameters
    free_form = _flag(params.get("free_form"))
    try:
        return service.open(start.call_sid, sink, dialect=params.get("dialect"),
                            free_form=free_form)
    except Exception:  # a model that fails to load must not crash the socket thread
        log.exception("could not open a speech session for %s", start.call_sid)
        return None


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}
