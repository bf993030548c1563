"""A media process started by `ivr serve` lives only as long as its parent: a killed `ivr serve`
never leaves one holding the media port."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ivr.local_redis import free_port
from ivr.media import PARENT_ENV
from tests.helpers import REPO

pytestmark = pytest.mark.slow

# The parent: starts `ivr media` as `ivr serve` does (own session, PARENT_ENV = its pid), prints
# the child's pid, then is killed without a chance to stop it.
PARENT = """
import os, subprocess, sys, time
cmd = [sys.executable, "-m", "ivr", "media", "--bind", "127.0.0.1:" + sys.argv[1]]
env = {**os.environ, "IVR_MEDIA_PARENT": str(os.getpid())}
child = subprocess.Popen(cmd, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper)."""
    try:
        status = open(f"/proc/{pid}/status").read()  # noqa: SIM115
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_media_process_stops_when_its_parent_is_killed(tmp_path, redis_server):
    assert PARENT_ENV == "IVR_MEDIA_PARENT"
    env = {**os.environ, "PYTHONPATH": str(REPO), "IVR_ROOT": str(REPO),
           "IVR_VAR_DIR": str(tmp_path / "var"), "REDIS_URL": redis_server.url}
    env.pop("TWILIO_AUTH_TOKEN", None)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(free_port())], env=env,
                              stdout=subprocess.PIPE, text=True)
    media = int(parent.stdout.readline())
    try:
        time.sleep(3)  # the media process is up (or starting) under its parent
        assert running(media)
        parent.kill()
        parent.wait(10)
        end = time.monotonic() + 30
        while running(media) and time.monotonic() < end:
            time.sleep(0.2)
        assert not running(media), "the media process outlived its parent"
    finally:
        if running(media):
            os.kill(media, 9)
