"""One source of the public base URL: IVR_PUBLIC_URL wins, then config, then dev loopback."""

from __future__ import annotations

import pytest

from ivr.public_url import (
    PublicUrlError,
    normalise,
    problems,
    resolve,
    websocket_base,
)

DEV = "http://127.0.0.1:5000"


def test_env_wins_then_config_then_dev_default():
    assert resolve("https://env.example", "https://cfg.example", False, DEV) == \
        "https://env.example"
    assert resolve(None, "https://cfg.example/", False, DEV) == "https://cfg.example"
    assert resolve(None, None, True, DEV) == DEV
    assert resolve(None, None, False, DEV) is None


@pytest.mark.parametrize("bad", ["ftp://x", "https://", "https://u:p@host", "https://h/?q=1",
                                 "https://h/#f", "https://h:99999"])
def test_unusable_urls_are_refused(bad):
    with pytest.raises(PublicUrlError):
        normalise(bad)


def test_problems():
    assert problems(None, False)[0]
    assert problems("https://ivr.example.com", False) == ([], [])
    assert problems("http://ivr.example.com", False)[1]  # warned: clear text on the network
    assert problems("http://localhost:5000", False) == ([], [])
    assert problems("http://[::1]:5000", False) == ([], [])
    assert problems("http://ivr.example.com", True) == ([], [])  # dev mode: no warning


def test_websocket_base():
    assert websocket_base("https://h.example/ivr") == "wss://h.example/ivr"
    assert websocket_base("http://127.0.0.1:5000") == "ws://127.0.0.1:5000"
