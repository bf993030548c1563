"""`ivr serve --media-processes 2`: two media processes share the media port, the box's counters
add up, and a killed one is restarted while the other keeps serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ivr.local_redis import free_port
from tests.helpers import REPO
from tests.media.test_media_process import wait_for

pytestmark = pytest.mark.slow


def media_pids(media_port: int) -> list[int]:
    """Live `ivr media` processes bound to this port (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"ivr media --bind 127.0.0.1:{media_port}" in cmd and "State:\tZ" not in status:
            pids.append(int(entry.name))
    return sorted(pids)


def box(media_port: int) -> dict | None:
    try:
        url = f"http://127.0.0.1:{media_port}/healthz?box=1"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def test_two_media_processes_share_the_port_and_one_is_restarted(tmp_path, redis_server):
    port, media_port = free_port(), free_port()
    env = {**os.environ, "IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var"),
           "PYTHONPATH": str(REPO), "REDIS_URL": redis_server.url}
    for name in ("TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ivr", "serve", "--bind",
                                 f"127.0.0.1:{port}", "--media-bind", f"127.0.0.1:{media_port}",
                                 "--media-processes", "2", "--workers", "2"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        first = wait_for(lambda: len(media_pids(media_port)) == 2 and media_pids(media_port))
        # both bound the one port, both publish: the box view counts two
        got = wait_for(lambda: (b := box(media_port)) and b["processes"] == 2 and b)
        assert got["status"] == "ok" and "frames" in got
        os.kill(first[0], signal.SIGKILL)
        again = wait_for(lambda: len(media_pids(media_port)) == 2
                         and first[0] not in media_pids(media_port) and media_pids(media_port))
        assert first[1] in again  # the other one kept running
        wait_for(lambda: (b := box(media_port)) and b["processes"] == 2, 30)
    finally:
        proc.terminate()
        proc.wait(40)
    assert not media_pids(media_port), "media processes outlived ivr serve"
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
