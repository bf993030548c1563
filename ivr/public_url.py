"""The one source of the service's public base URL: where Twilio fetches TwiML and opens streams.

Pure (no Flask). Every absolute URL given to Twilio (REST redirects, dequeue and call-back URLs,
the media stream) and every signature check is built from this value, never from a request's
``Host`` or ``X-Forwarded-*`` headers: whoever can choose where Twilio fetches the next TwiML can
send an elderly caller anywhere.

Order: ``IVR_PUBLIC_URL`` (environment) wins, then ``public_url`` in config/ivr.yaml; in dev mode
(no real ``TWILIO_AUTH_TOKEN``) a loopback default; otherwise there is none and ``ivr serve``
refuses to start.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
MEDIA_PORT_ENV = "IVR_MEDIA_PORT"  # set by `ivr serve` for the media process it starts
MEDIA_PATH = "/media"


class PublicUrlError(ValueError):
    """The public URL is missing or unusable."""


@functools.lru_cache(maxsize=64)  # pure, and asked twice per webhook with the same value
def normalise(url: str) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash; raises PublicUrlError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublicUrlError(f"{url!r}: must be http(s)://host[:port][/prefix]")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PublicUrlError(f"{url!r}: no query, fragment or user:password allowed")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise PublicUrlError(f"{url!r}: bad port") from exc
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def resolve(env_url: str | None, config_url: str | None, dev_mode: bool,
            dev_default: str) -> str | None:
    """The public base URL in force, or None (only possible outside dev mode)."""
    for url in (env_url, config_url):
        if url:
            return normalise(url)
    return normalise(dev_default) if dev_mode else None


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problems(url: str | None, dev_mode: bool) -> tuple[list[str], list[str]]:
    """(errors that stop ``ivr serve``, warnings it logs) for the resolved public URL."""
    errors: list[str] = []
    warnings: list[str] = []
    if url is None:
        errors.append(
            "no public URL: with a real TWILIO_AUTH_TOKEN set IVR_PUBLIC_URL (or public_url in "
            "config/ivr.yaml) to the https://host Twilio reaches this service at"
        )
        return errors, warnings
    try:
        url = normalise(url)
    except PublicUrlError as exc:
        return [str(exc)], warnings
    if not dev_mode and url.startswith("http://") and not is_loopback(url):
        warnings.append(
            f"public URL {url} is plain http on a non-loopback host: webhooks, signatures and "
            "call audio cross the network in clear text; use https"
        )
    return errors, warnings


def websocket_base(url: str) -> str:
    """ws(s):// form of the public base, for ``<Stream url>``."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):]
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):]
    return url


def media_stream_url(public: str, media_url: str | None, explicit_public: bool,
                     media_port: str | None) -> str:
    """Where Twilio opens the call's media stream: config ``media_url`` (a load balancer route
    to the media processes), else the public URL's ``/media``; in dev mode (no explicit public
    URL) the media process ``ivr serve`` started, on the loopback host at its own port."""
    if media_url:
        return media_url
    if not explicit_public and media_port and media_port.isdigit():
        host = urlsplit(public).hostname or "127.0.0.1"
        return f"ws://{host}:{media_port}{MEDIA_PATH}"
    return websocket_base(public) + MEDIA_PATH


def base_url(settings: Any, config: Any) -> str:
    """The base URL Twilio reaches this service at: env ``IVR_PUBLIC_URL``, else config
    ``public_url``, else the dev-mode loopback default (``config`` is the ConfigHolder). Never
    derived from a request. Raises PublicUrlError when there is none."""
    url = resolve(settings.public_url, config.current.service.public_url, settings.dev_mode,
                  settings.dev_public_url)
    if url is None:
        raise PublicUrlError("no public URL configured (IVR_PUBLIC_URL or public_url)")
    return url


def stream_url(settings: Any, config: Any) -> str:
    """The ``<Stream url>``: config ``media_url``, else the public URL's ``/media``."""
    service = config.current.service
    explicit = bool(settings.public_url or service.public_url)
    return media_stream_url(base_url(settings, config), getattr(service, "media_url", None),
                            explicit, os.environ.get(MEDIA_PORT_ENV))
