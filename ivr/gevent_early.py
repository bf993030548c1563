"""`ivr serve` with gevent workers: patch the standard library before anything imports ssl users.

gunicorn's gevent worker patches in each worker, after the master (this CLI) has imported
requests, urllib3, twilio and redis. urllib3 then holds the unpatched ``ssl.SSLContext`` and every
HTTPS request from a worker fails with ``RecursionError`` (reproduced: the Twilio REST API, which
only answers HTTPS, was unreachable from webhook workers; accept and the reconciler failed). The
CLI entry calls this first, so the master and the workers it forks share one patched ssl.
"""

from __future__ import annotations

import sys


def serving_with_gevent(argv: list[str]) -> bool:
    """``ivr [-v] serve ...`` without ``--worker-class gthread``."""
    args = [a for a in argv[1:] if a not in ("-v", "--verbose")]
    if not args or args[0] != "serve":
        return False
    rest = args[1:]
    for i, arg in enumerate(rest):
        if arg == "--worker-class" and i + 1 < len(rest):
            return rest[i + 1] == "gevent"
        if arg.startswith("--worker-class="):
            return arg.split("=", 1)[1] == "gevent"
    return True  # gevent is the default


def patch_if_serving_with_gevent(argv: list[str] | None = None) -> bool:
    """Monkey-patch now when this process is about to run gevent workers; say whether it did."""
    if not serving_with_gevent(sys.argv if argv is None else argv):
        return False
    from gevent import monkey

    monkey.patch_all()
    return True
