"""Redis persistence: the embedded default keeps an append-only file; an unsafe external Redis
is reported loudly at start."""

from __future__ import annotations

import logging

from ivr.local_redis import LocalRedisServer
from ivr.redis_conn import _embedded, connect, embedded_redis_url, persistence_warnings


def test_embedded_redis_runs_with_appendonly_everysec(tmp_path):
    url = embedded_redis_url(tmp_path)
    try:
        client = connect(url, tmp_path)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
        assert persistence_warnings(client) == []
    finally:
        for db, server in list(_embedded.items()):
            if str(db).startswith(str(tmp_path)):
                server.shutdown()
                del _embedded[db]


def test_external_redis_without_aof_or_with_eviction_is_warned_about(tmp_path, caplog):
    server = LocalRedisServer(tmp_path / "r").start()
    try:
        client = server.client()
        assert any("appendonly" in w for w in persistence_warnings(client))
        client.config_set("appendonly", "yes")
        client.config_set("maxmemory-policy", "allkeys-lru")
        found = persistence_warnings(client)
        assert len(found) == 1 and "allkeys-lru" in found[0]
        client.config_set("maxmemory-policy", "noeviction")
        assert persistence_warnings(client) == []
        client.config_set("appendonly", "no")
        from ivr.app import create_app
        from tests.helpers import make_settings

        with caplog.at_level(logging.WARNING, logger="ivr.redis_conn"):
            create_app(make_settings(tmp_path, server.url), speech=False)
        assert "REDIS PERSISTENCE" in caplog.text and "appendonly=no" in caplog.text
    finally:
        server.stop()
