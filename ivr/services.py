"""The per-process services a request handler needs, kept on the Flask app.

Everything here is created once per process by ``create_app`` (models, caches, clients), never
per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # types only: this module is wiring, it must not pull the world in at import
    import redis

    from ivr.config.holder import ConfigHolder
    from ivr.flow.call_flow import CallFlow
    from ivr.flow.session import SessionStore
    from ivr.flow.speech_actions import SpeechActions
    from ivr.routing.outcomes import Outcomes
    from ivr.routing.queue import CallQueue
    from ivr.routing.reconcile import Reconciler
    from ivr.settings import Settings
    from ivr.speech.asr import SpeechService
    from ivr.speech.voices import VoiceCatalog
    from ivr.telephony.rest import CallControl
    from ivr.understanding.audit import ScamAudit

EXTENSION_KEY = "ivr"


@dataclass
class Services:
    """Shared per-process objects, built once by ``create_app``.

    The optional parts are None where a process (or a test's partial app) runs without them:
    no voice catalog means ``<Say>``, no flow means the queue's own failsafe answer.
    """

    settings: Settings
    config: ConfigHolder
    redis: redis.Redis
    calls: CallControl
    sessions: SessionStore
    queue: CallQueue
    outcomes: Outcomes
    audit: ScamAudit
    voices: VoiceCatalog | None = None
    speech: SpeechService | None = None
    speech_actions: SpeechActions | None = None
    flow: CallFlow | None = None
    reconciler: Reconciler | None = None


def get_services() -> Services:
    """The services of the current Flask app."""
    return current_app.extensions[EXTENSION_KEY]
