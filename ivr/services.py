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

    def public_url(self) -> str:
        """The base URL Twilio reaches this service at (``ivr.telephony.public_url``): env
        ``IVR_PUBLIC_URL``, else config ``public_url``, else the dev-mode loopback default.
        Never derived from a request. Raises PublicUrlError when there is none."""
        from ivr.telephony.public_url import PublicUrlError, resolve

        s = self.settings
        url = resolve(s.public_url, self.config.current.service.public_url, s.dev_mode,
                      s.dev_public_url)
        if url is None:
            raise PublicUrlError("no public URL configured (IVR_PUBLIC_URL or public_url)")
        return url

    def media_stream_url(self) -> str:
        """The ``<Stream url>`` (``ivr.telephony.public_url.media_stream_url``)."""
        import os

        from ivr.telephony.public_url import MEDIA_PORT_ENV, media_stream_url

        service = self.config.current.service
        explicit = bool(self.settings.public_url or service.public_url)
        return media_stream_url(self.public_url(), getattr(service, "media_url", None), explicit,
                                os.environ.get(MEDIA_PORT_ENV))

    def __getattr__(self, name: str) -> Any:
        # sessions, queue, voices, speech... are attached by create_app as they are wired in
        try:
            return self.__dict__["extras"][name]
        except KeyError:
            raise AttributeError(name) from None


def get_services() -> Services:
    """The services of the current Flask app."""
    return current_app.extensions[EXTENSION_KEY]
