"""The media process wired to the rest of the service: config, Redis, Twilio REST.

It shares nothing in memory with the webhook workers: the menu a call is in is read from Redis
(announced by pub/sub), and what a caller said becomes a REST redirect of the live call to a
signed webhook (``SpeechActions``), exactly as when the socket lived in the web app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from ivr.config.holder import ConfigHolder
from ivr.flow.session import SessionStore
from ivr.flow.speech_actions import SpeechActions
from ivr.media import PARENT_ENV, box_stats
from ivr.media.admission import StreamAdmission
from ivr.media.auth import twilio_stream_auth
from ivr.media.grammar_feed import GrammarFeed
from ivr.media.server import MediaServer
from ivr.public_url import MEDIA_PORT_ENV, PublicUrlError, media_stream_url, resolve
from ivr.redis_conn import connect
from ivr.routing.queue import CallQueue, queue_retention
from ivr.settings import Settings
from ivr.speech.setup import speech_from_config
from ivr.telephony.rest import TWILIO_API, CallControl, make_client
from ivr.understanding.audit import ScamAudit

log = logging.getLogger(__name__)

DEFAULT_WEBHOOK_BASE = "http://127.0.0.1:5000"


@dataclass
class MediaProcess:
    server: MediaServer
    feed: GrammarFeed
    holder: ConfigHolder
    actions: SpeechActions
    redis: Any = None


def build(settings: Settings, webhook_base: str | None = None, workers: int | None = None,
          watch_config: bool = True, media_port: int | None = None) -> MediaProcess:
    """Everything the media process needs, built once (models are loaded by ``warm``)."""
    holder = ConfigHolder(settings, allow_last_good=True)
    service = holder.current.service
    client = connect(settings.redis_url or service.redis_url, settings.var_dir)
    # the REST base receives the auth token: from the environment only (Settings)
    calls = CallControl(make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                                    settings.twilio_api_base or TWILIO_API))
    retention = service.retention
    sessions = SessionStore(client, retention.session_ttl_seconds, retention.caller_memory_days)
    queue = CallQueue(client, lambda: holder.current.agents.queue,
                      retention=lambda: queue_retention(holder.current.service))
    dev_base = (webhook_base or os.environ.get("IVR_WEBHOOK_BASE") or settings.dev_public_url)

    def public_base() -> str:
        """REST redirects go to the one public URL (env, then config; dev: loopback)."""
        url = resolve(settings.public_url, holder.current.service.public_url, settings.dev_mode,
                      dev_base)
        if url is None:
            raise PublicUrlError("no public URL (IVR_PUBLIC_URL or public_url)")
        return url

    public_base()  # refuse to start without one
    audit = ScamAudit(client, retention_days=lambda: holder.current.service.retention.audit_days)
    actions = SpeechActions(holder, sessions, calls, public_base, queue, audit)

    def stream_url() -> str:
        """The <Stream url> the webhooks put in TwiML (Services.media_stream_url)."""
        explicit = bool(settings.public_url or holder.current.service.public_url)
        port = os.environ.get(MEDIA_PORT_ENV) or (str(media_port) if media_port else None)
        return media_stream_url(public_base(), holder.current.service.media_url, explicit, port)

    admission = StreamAdmission(client, settings.secret_key, settings.twilio_account_sid,
                                lambda: holder.current.service.retention.session_ttl_seconds)
    speech = speech_from_config(settings.root, holder.current, actions.grammar_for)
    server = MediaServer(
        speech, actions.on_speech, actions.grammar_for,
        auth=twilio_stream_auth(lambda: settings.twilio_auth_token, stream_url=stream_url),
        admit=admission.admit,
        workers=workers,
        config_version=lambda: holder.current.version,
        box_stats=lambda: box_stats.combine(client.hgetall(box_stats.STATS_KEY), time.time()),
    )
    feed = GrammarFeed(client, server.mark_dirty)
    if watch_config:
        holder.watch()
    return MediaProcess(server, feed, holder, actions, client)


async def _publish_stats(proc: MediaProcess, stop: asyncio.Event, every: float = 1.0) -> None:
    """This process's counters into the box's hash (``ivr.media.box_stats``), every second."""
    me = box_stats.process_id()

    def publish() -> None:
        pipe = proc.redis.pipeline(transaction=False)
        pipe.hset(box_stats.STATS_KEY, me, box_stats.snapshot(proc.server.stats.as_dict(),
                                                              time.time()))
        pipe.expire(box_stats.STATS_KEY, box_stats.KEY_TTL_SECONDS)
        pipe.execute()

    while not stop.is_set():
        try:
            await asyncio.to_thread(publish)
        except Exception as exc:  # Redis away: the counters are only for the box view
            log.debug("media stats not published: %s", exc)
        with contextlib.suppress(asyncio.TimeoutError):  # not the builtin before 3.11
            await asyncio.wait_for(stop.wait(), every)
    with contextlib.suppress(Exception):
        proc.redis.hdel(box_stats.STATS_KEY, me)


async def _stop_when_orphaned(stop: asyncio.Event, every: float = 1.0) -> None:
    """Under `ivr serve` (own session, so a terminal's Ctrl-C reaches only serve): stop when
    that parent is gone, so a killed `ivr serve` never leaves a media process holding the port."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    while not stop.is_set():
        if os.getppid() != int(parent):
            log.warning("media process: parent %s is gone; stopping", parent)
            stop.set()
            return
        await asyncio.sleep(every)


def run(host: str, port: int, webhook_base: str | None = None,
        workers: int | None = None, reuse_port: bool = False) -> None:
    """Serve until SIGTERM/SIGINT. ``reuse_port``: share the port with sibling processes."""
    logging.getLogger("websockets.server").setLevel(logging.WARNING)  # not a line per socket
    settings = Settings.from_env()
    proc = build(settings, webhook_base, workers, media_port=port)
    if proc.server.speech is not None:
        proc.server.speech.warm()  # one Model per process, loaded before the first call
    proc.feed.start()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        watch = asyncio.create_task(_stop_when_orphaned(stop))
        stats = asyncio.create_task(_publish_stats(proc, stop))
        await proc.server.serve(host, port, stop=stop, reuse_port=reuse_port)
        watch.cancel()
        await stats

    asyncio.run(main())
    proc.feed.stop()
