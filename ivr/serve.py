"""The production server: gunicorn (threaded workers, for media WebSockets) around create_app."""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class IvrServer(BaseApplication):
    """gunicorn with our options; each worker builds its app once (models, caches, clients)."""

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


def run(bind: str, workers: int, threads: int) -> None:
    """Run until stopped. The embedded Redis (if any) is started here, shared by the workers."""
    from ivr.redis_conn import embedded_redis_url
    from ivr.settings import Settings

    settings = Settings.from_env()
    if not settings.redis_url:
        from ivr.config.loader import load_config

        configured = load_config(settings).service.redis_url
        os.environ["REDIS_URL"] = configured or embedded_redis_url(settings.var_dir)
        if not configured:
            log.info("no REDIS_URL: using the embedded Redis with data in %s/redis",
                     settings.var_dir)
    render_ahead(settings.var_dir)
    IvrServer({
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": None,
        "loglevel": "info",
    }).run()


def render_ahead(var_dir) -> None:
    """Render missing prompts in a separate process, so start-up and calls never wait on it
    (until a prompt's audio exists the TwiML says its text with <Say>)."""
    import subprocess
    import sys

    var_dir.mkdir(parents=True, exist_ok=True)
    logfile = open(var_dir / "render.log", "ab")  # noqa: SIM115 - owned by the child process
    subprocess.Popen([sys.executable, "-m", "ivr", "render", "--workers", "1"],
                     stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.info("rendering missing prompts in the background (log: %s)", var_dir / "render.log")
