"""The production server: gunicorn (gevent workers) for webhooks, and the media process beside it.

Why gevent: a threaded worker spends a thread per open connection, so a few hundred idle or
slow-header clients (or media sockets, before they moved out) took every thread and webhooks
timed out. A gevent worker holds a connection with a greenlet; only requests being worked on cost
CPU. Media streams run in their own asyncio process (``ivr media``), started and restarted here,
so one command still runs everything.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from ivr.media import PARENT_ENV
from ivr.private_files import PRIVATE_UMASK, lock_down

log = logging.getLogger(__name__)


def default_workers() -> int:
    """One worker per core (at least 2, so a worker restart never leaves no one answering)."""
    return max(2, os.cpu_count() or 1)


def default_threads() -> int:
    """gthread only: webhooks are short, Redis-bound; 4 per core measured enough."""
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class ServeOptions:
    bind: str
    workers: int
    threads: int
    worker_class: str = "gevent"
    connections: int = 1000
    media_bind: str | None = None  # None: no media process here
    media_workers: int | None = None
    media_processes: int = 1  # on one port (SO_REUSEPORT) when more than one

    @classmethod
    def from_cli(cls, bind: str, workers: int | None, threads: int | None, worker_class: str,
                 connections: int, media_bind: str | None, media_workers: int | None,
                 with_media: bool, media_processes: int = 1) -> ServeOptions:
        if with_media and not media_bind:
            host, _, port = bind.rpartition(":")
            media_bind = f"{host or '127.0.0.1'}:{int(port) + 1}"
        return cls(bind, workers or default_workers(), threads or default_threads(),
                   worker_class, connections, media_bind if with_media else None, media_workers,
                   max(1, media_processes))

    def gunicorn(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "bind": self.bind,
            "workers": self.workers,
            "worker_class": self.worker_class,
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 75,  # Twilio and load balancers reuse connections
            "accesslog": None,
            "loglevel": "info",
        }
        if self.worker_class == "gthread":
            opts["threads"] = self.threads
        else:
            opts["worker_connections"] = self.connections
        return opts


class IvrServer(BaseApplication):
    """gunicorn with our options; each worker builds its app once (config, caches, clients)."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from ivr.app import create_app

        # A worker restarted while an admin's file is broken keeps the last good config.
        return create_app(allow_last_good=True, watch_config=True, background=True)


class MediaSupervisor:
    """Keeps ``processes`` ``ivr media`` children running (each restarted after a crash), all on
    one port when there are several (the kernel spreads new streams); stopped with us."""

    def __init__(self, bind: str, webhook_base: str, workers: int | None, log_path,
                 processes: int = 1):
        self.cmd = [sys.executable, "-m", "ivr", "media", "--bind", bind,
                    "--webhook-base", webhook_base]
        if workers:
            self.cmd += ["--workers", str(workers)]
        if processes > 1:
            self.cmd.append("--reuse-port")
        self.log_path = log_path
        self.procs: list[subprocess.Popen | None] = [None] * max(1, processes)
        self.restarts = 0
        self._stopping = threading.Event()

    @property
    def proc(self) -> subprocess.Popen | None:
        """The first child (one-process callers and tests)."""
        return self.procs[0]

    def start(self) -> MediaSupervisor:
        for slot in range(len(self.procs)):
            self._spawn(slot)
            threading.Thread(target=self._watch, args=(slot,), name=f"media-supervisor-{slot}",
                             daemon=True).start()
        return self

    def _spawn(self, slot: int) -> None:
        logfile = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        # Its own session: a Ctrl-C (or `timeout`) in the terminal signals the process group, and
        # a media process stopped with it was restarted during gunicorn's graceful shutdown. We
        # stop it after the webhook workers; it stops itself if we die (PARENT_ENV).
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        proc = subprocess.Popen(self.cmd, stdout=logfile, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.procs[slot] = proc
        log.info("media process pid %d: %s (log: %s)", proc.pid, " ".join(self.cmd[3:]),
                 self.log_path)

    def _watch(self, slot: int) -> None:
        while not self._stopping.is_set():
            proc = self.procs[slot]
            code = proc.wait() if proc else 0
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.error("media process exited (%s); calls continue on keys; restarting", code)
            time.sleep(1.0)
            if not self._stopping.is_set():
                self._spawn(slot)

    def stop(self) -> None:
        self._stopping.set()
        running = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def busy_addresses(*binds: str | None) -> list[str]:
    """The host:port addresses among ``binds`` that something already listens on. Checked before
    start-up: gunicorn alone retried for 5 s and the media supervisor restarted in a loop."""
    busy = []
    for bind in filter(None, binds):
        host, _, port = bind.rpartition(":")
        if not port.isdigit() or bind.startswith("unix:"):
            continue  # a unix socket or a name gunicorn resolves itself
        with socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET,
                           socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                sock.bind((host.strip("[]") or "0.0.0.0", int(port)))
            except OSError:
                busy.append(bind)
    return busy


def run(options: ServeOptions) -> None:
    """Run until stopped. The embedded Redis (if any) is started here, shared by all processes."""
    from ivr.redis_conn import embedded_redis_url
    from ivr.settings import Settings
    from ivr.telephony.webhooks import MEDIA_PORT_ENV

    settings = Settings.from_env()
    # var/ holds Redis snapshots, the config snapshot (password hashes) and dev secrets: files
    # created from now on (here, in workers and by the embedded redis-server) are 0600.
    os.umask(PRIVATE_UMASK)
    fixed = lock_down(settings.var_dir)
    if fixed:
        log.info("made %d file(s) under %s private (0600)", fixed, settings.var_dir)
    if not settings.redis_url:
        from ivr.config.loader import load_config

        configured = load_config(settings).service.redis_url
        os.environ["REDIS_URL"] = configured or embedded_redis_url(settings.var_dir)
        if not configured:
            log.info("no REDIS_URL: using the embedded Redis with data in %s/redis",
                     settings.var_dir)
    from ivr.speech import espeak_lib

    problem = espeak_lib.status_line()
    if problem:
        print(problem, file=sys.stderr, flush=True)  # one line, where the admin is looking
    if espeak_lib.engine().usable:
        log.info("prompt audio: %s", espeak_lib.engine().describe())
        render_ahead(settings.var_dir)
    supervisor = None
    if options.media_bind:
        os.environ[MEDIA_PORT_ENV] = options.media_bind.rpartition(":")[2]
        host, _, port = options.bind.rpartition(":")
        local = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        supervisor = MediaSupervisor(options.media_bind, f"http://{local}:{port}",
                                     options.media_workers, settings.var_dir / "media.log",
                                     options.media_processes).start()
    log.info("webhooks: %d %s workers%s on %s", options.workers, options.worker_class,
             f" x {options.threads} threads" if options.worker_class == "gthread" else
             f" x {options.connections} connections", options.bind)
    master = os.getpid()
    try:
        IvrServer(options.gunicorn()).run()
    finally:
        # gunicorn workers are forked from here and leave through this frame too: only the
        # master stops the media process.
        if supervisor is not None and os.getpid() == master:
            supervisor.stop()


def render_ahead(var_dir) -> None:
    """Render missing prompts in a separate process, so start-up and calls never wait on it
    (until a prompt's audio exists the TwiML says its text with <Say>)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    logfile = open(var_dir / "render.log", "ab")  # noqa: SIM115 - owned by the child process
    subprocess.Popen([sys.executable, "-m", "ivr", "render", "--workers", "1"],
                     stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.info("rendering missing prompts in the background (log: %s)", var_dir / "render.log")
