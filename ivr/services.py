"""The per-process services a request handler needs, kept on the Flask app.

Everything here is created once per process by ``create_app`` (models, caches, clients), never
per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:  # imported for type hints only, to keep modules loosely coupled
    import redis

    from ivr.config.holder import ConfigHolder
    from ivr.settings import Settings
    from ivr.telephony.rest import CallControl

EXTENSION_KEY = "ivr"


@dataclass
class Services:
    """Shared per-process objects; optional parts are None when disabled (e.g. no speech model)."""

    settings: Settings
    config: ConfigHolder
    redis: redis.Redis
    calls: CallControl
    extras: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # sessions, queue, voices, speech... are attached by create_app as they are wired in
        try:
            return self.__dict__["extras"][name]
        except KeyError:
            raise AttributeError(name) from None


def get_services() -> Services:
    """The services of the current Flask app."""
    return current_app.extensions[EXTENSION_KEY]
