"""redis-py's per-command readiness check in a gevent worker: the OS answers zero-timeout polls,
anything that waits still yields to other greenlets, and Redis commands work as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.helpers import REPO

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import socket, sys, time
    import gevent
    from pathlib import Path
    from redis._parsers import hiredis as parser
    from ivr import redis_gevent
    from ivr.redis_conn import connect

    client = connect(sys.argv[1], Path("."))  # installs the check, as create_app does
    assert parser.select.poll is redis_gevent.ReadinessPoll
    assert redis_gevent.install()  # idempotent

    a, b = socket.socketpair()
    poll = parser.select.poll()
    poll.register(a, parser.select.POLLIN)
    assert poll.poll(0) == []  # nothing to read: answered at once
    b.send(b"x")
    assert poll.poll(0) and poll.poll(0)[0][0] == a.fileno()

    # a poll that waits still lets other greenlets run (gevent's poll, not a blocking one)
    c, d = socket.socketpair()
    waiting = parser.select.poll()
    waiting.register(c, parser.select.POLLIN)
    ran = []
    other = gevent.spawn(lambda: (ran.append(1), d.send(b"y")))
    assert waiting.poll(2000) and ran == [1]
    other.join()

    # the pooled client: many commands, several greenlets, connections reused
    def work(i):
        for j in range(50):
            client.set(f"ivr-test:gevent:{i}", j)
            assert client.get(f"ivr-test:gevent:{i}") == str(j)
    gevent.joinall([gevent.spawn(work, i) for i in range(8)], raise_error=True)
    pool = client.connection_pool
    assert len(pool._available_connections) <= 8
    print("ok")
""")


def test_gevent_worker_redis_check_uses_the_os_for_zero_timeouts(redis_server):
    done = subprocess.run([sys.executable, "-c", SCRIPT, redis_server.url], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_without_gevent_nothing_is_changed():
    from redis._parsers import hiredis as parser

    from ivr import redis_gevent

    assert redis_gevent.install() is False
    assert parser.select.poll is not redis_gevent.ReadinessPoll
