"""Grammar changes pushed to the media process over Redis pub/sub (no per-call polling).

The flow publishes a call's SID on ``GRAMMAR_CHANNEL`` in the same pipeline that saves the
call's state, so a menu step costs no extra round trip. The media process keeps one subscription;
after losing it (Redis restart) every live call re-reads its grammar once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import redis

from ivr.flow.session import GRAMMAR_CHANNEL

log = logging.getLogger(__name__)


class GrammarFeed:
    """A daemon thread calling ``on_change(call_sid)``; ``on_change(None)`` after a reconnect."""

    def __init__(self, client: redis.Redis, on_change: Callable[[str | None], None]):
        self.client = client
        self.on_change = on_change
        self.messages = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="grammar-feed", daemon=True)

    def start(self) -> GrammarFeed:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(GRAMMAR_CHANNEL)
                self.on_change(None)  # anything published while unsubscribed is lost
                backoff = 0.5
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "message":
                        data = msg["data"]
                        sid = data.decode() if isinstance(data, bytes) else str(data)
                        self.messages += 1
                        self.on_change(sid)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                log.warning("grammar feed lost Redis; retrying in %.1f s", backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):  # a dead connection may fail to close
                    pubsub.close()
