"""create_app(settings): wires config, Redis, Twilio REST and the blueprints; nothing else."""

from __future__ import annotations

import logging

from flask import Flask

from ivr.config.holder import ConfigHolder
from ivr.flow.service import CallFlow
from ivr.flow.session import SessionStore
from ivr.redis_conn import connect
from ivr.services import EXTENSION_KEY, Services
from ivr.settings import Settings
from ivr.telephony.rest import CallControl, make_client

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, allow_last_good: bool = False,
               watch_config: bool = False) -> Flask:
    """Build the app. Invalid config raises ConfigError unless a last good snapshot is allowed."""
    settings = settings or Settings.from_env()
    holder = ConfigHolder(settings, allow_last_good=allow_last_good)
    service = holder.current.service
    client = connect(settings.redis_url or service.redis_url, settings.var_dir)
    calls = CallControl(make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                                    service.twilio.api_base))
    svc = Services(settings=settings, config=holder, redis=client, calls=calls)
    retention = service.retention
    svc.extras["sessions"] = SessionStore(client, retention.session_ttl_seconds,
                                          retention.caller_memory_days)
    svc.extras["flow"] = CallFlow(holder, svc.sessions, settings.secret_key)

    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.extensions[EXTENSION_KEY] = svc

    from ivr import health
    from ivr.telephony import webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)

    if watch_config:
        holder.watch()
        holder.install_sighup()
    log.info("elder-ivr ready: config %s", holder.current.version)
    return app
