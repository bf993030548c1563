"""`ivr serve` on a port that is taken says so in one line and exits, instead of gunicorn retrying
and the media supervisor restarting in a loop."""

from __future__ import annotations

import socket

import pytest

from ivr.local_redis import free_port
from ivr.serve import busy_addresses
from tests.security.test_startup import run_ivr


@pytest.fixture
def taken():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_busy_addresses_finds_the_taken_one(taken):
    free = free_port()
    assert busy_addresses(f"127.0.0.1:{taken}", f"127.0.0.1:{free}", None) == [
        f"127.0.0.1:{taken}"]


@pytest.mark.parametrize("which", ["webhooks", "media"])
def test_serve_refuses_a_taken_port_in_one_line(tmp_path, taken, which):
    web = taken if which == "webhooks" else free_port()
    media = taken if which == "media" else free_port()
    res = run_ivr(["serve", "--bind", f"127.0.0.1:{web}", "--media-bind", f"127.0.0.1:{media}"],
                  tmp_path)
    assert res.returncode == 1
    assert f"127.0.0.1:{taken} already in use" in res.stderr
    assert "Traceback" not in res.stderr and "Starting gunicorn" not in res.stderr
