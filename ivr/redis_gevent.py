"""redis-py's pooled-connection check, without a trip through gevent's hub.

Before every command redis-py asks whether the pooled connection has unread data (a poll with a
zero timeout). Under gevent's monkey-patching that ``select.poll`` is gevent's emulation, which
starts a libev watcher and runs a hub loop iteration for each call: measured about 45 us per
Redis round trip, a tenth of a webhook. A zero-timeout poll never blocks, so asking the OS
directly is safe in a gevent worker and answers the same question; any other timeout still waits
the gevent way. Only redis-py's reply-parser module sees this ``select``; nothing else changes.
"""

from __future__ import annotations

import select
import types
from typing import Any


def _os_poll() -> Any:
    from gevent import monkey

    return monkey.get_original("select", "poll")()


class ReadinessPoll:
    """``select.poll`` for readiness checks: zero timeout -> the OS's poll, else gevent's."""

    def __init__(self) -> None:
        self._registered: list[tuple[Any, int]] = []

    def register(self, fd: Any, eventmask: int = select.POLLIN | select.POLLPRI
                 | select.POLLOUT) -> None:
        self._registered.append((fd, eventmask))

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        poller = _os_poll() if timeout == 0 else select.poll()
        for fd, mask in self._registered:
            poller.register(fd, mask)
        return poller.poll(timeout)


def install() -> bool:
    """Once per process, after gevent patched ``select``; True when the parser now uses it."""
    try:
        from gevent import monkey
        from redis._parsers import hiredis as parser
    except ImportError:
        return False
    if not monkey.is_module_patched("select") or not hasattr(parser, "select"):
        return False
    if getattr(parser.select, "poll", None) is ReadinessPoll:
        return True
    names = {name: getattr(select, name) for name in dir(select) if not name.startswith("__")}
    parser.select = types.SimpleNamespace(**{**names, "poll": ReadinessPoll})
    return True
