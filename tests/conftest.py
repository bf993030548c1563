"""Shared fixtures: a real Redis server on a free port, paths of the repo and of ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from ivr.local_redis import LocalRedisServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real Redis server for the test session."""
    server = LocalRedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    """A clean database for each test (FLUSHDB before)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    path = SHARED / "audio"
    if not (path / "manifest.tsv").exists():
        pytest.skip("../shared/audio is not present")
    return path
