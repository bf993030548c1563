"""create_app(settings): wires config, Redis, Twilio REST and the blueprints; nothing else."""

from __future__ import annotations

import logging

from flask import Flask

from ivr.config.holder import ConfigHolder
from ivr.cookie_sessions import CachedCookieSessions
from ivr.flow.call_flow import CallFlow
from ivr.flow.elder_hook import ElderLookup
from ivr.flow.session import SessionStore
from ivr.flow.speech_actions import SpeechActions
from ivr.public_url import base_url
from ivr.redis_conn import connect, warn_about_persistence
from ivr.routing.caller_watch import CallerWatch
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import CallQueue, queue_retention
from ivr.routing.reconcile import Reconciler
from ivr.services import EXTENSION_KEY, Services
from ivr.settings import Settings
from ivr.speech.asr import SpeechService
from ivr.speech.voices import VoiceCatalog
from ivr.telephony.rest import TWILIO_API, CallControl, make_client
from ivr.understanding.audit import ScamAudit

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, allow_last_good: bool = False,
               watch_config: bool = False, speech: SpeechService | None | bool = True,
               background: bool = False) -> Flask:
    """Build the app. Invalid config raises ConfigError unless a last good snapshot is allowed.

    ``speech``: True builds the speech service from config (models found on disk), False turns
    it off, or pass a ready SpeechService. Here it only decides whether TwiML starts a stream;
    recognition runs in the media process (``ivr media``).
    ``background``: run the queue reconciler (at start, then on its timer); the server does.
    """
    settings = settings or Settings.from_env()
    holder = ConfigHolder(settings, allow_last_good=allow_last_good)
    service = holder.current.service
    redis_url = settings.redis_url or service.redis_url
    client = connect(redis_url, settings.var_dir)
    if redis_url and not redis_url.startswith("unix://"):
        _check_persistence(client)
    # The REST base receives the auth token: from the environment only (Settings), never YAML.
    calls = CallControl(make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                                    settings.twilio_api_base or TWILIO_API,
                                    timeout=service.twilio.rest_timeout_seconds))
    retention, watch = service.retention, service.caller_watch
    sessions = SessionStore(client, retention.session_ttl_seconds, retention.caller_memory_days)
    svc = Services(
        settings=settings, config=holder, redis=client, calls=calls, sessions=sessions,
        queue=CallQueue(client, lambda: holder.current.agents.queue,
                        retention=lambda: queue_retention(holder.current.service)),
        outcomes=Outcomes(client), voices=_voices(settings, holder),
        audit=ScamAudit(client, retention_days=lambda: holder.current.service.retention.audit_days),
    )
    base_url(settings, holder)  # no public URL outside dev mode: refuse to build
    svc.speech_actions = actions = SpeechActions(holder, sessions, calls,
                                                 lambda: base_url(settings, holder), svc.queue,
                                                 svc.audit)
    svc.speech = speech_service = _speech(settings, holder, actions, speech)
    svc.flow = CallFlow(
        holder, sessions, settings.secret_key, queue=svc.queue, voices=svc.voices,
        caller_watch=CallerWatch(client, watch.window_seconds, watch.threshold, watch.numbers,
                                 salt=settings.secret_key),
        speech_enabled=lambda: speech_service is not None and speech_service.enabled,
        elder_lookup=ElderLookup(settings.root),
    )

    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.session_interface = CachedCookieSessions()
    app.extensions[EXTENSION_KEY] = svc

    from ivr import health
    from ivr.routing import console
    from ivr.telephony import audio_route, queue_routes, webhooks

    # No /media here: streams go to the media process (ivr.media), so a call's audio never
    # holds a webhook worker's thread.
    for bp in (webhooks.bp, queue_routes.bp, console.bp, audio_route.bp, health.bp):
        app.register_blueprint(bp)

    svc.reconciler = reconciler = Reconciler(svc, svc.flow)
    if background:
        reconciler.start()
    if watch_config:
        holder.watch()
        holder.install_sighup()
    log.info("elder-ivr ready: config %s, speech %s", holder.current.version,
             "on" if speech_service is not None and speech_service.enabled else "off")
    return app


def _check_persistence(client) -> None:
    try:
        warn_about_persistence(client)
    except Exception:  # Redis down at start: the service still starts (failsafe to a human)
        log.warning("could not check Redis persistence settings at start", exc_info=True)


def _speech(settings: Settings, holder: ConfigHolder, actions: SpeechActions,
            speech: SpeechService | None | bool) -> SpeechService | None:
    if isinstance(speech, SpeechService) or speech is None:
        return speech
    if not speech:
        return None
    from ivr.speech.setup import speech_from_config

    return speech_from_config(settings.root, holder.current, actions.grammar_for)


def _voices(settings: Settings, holder: ConfigHolder) -> VoiceCatalog:
    return VoiceCatalog(settings.voices_dir, holder.current.voices)
