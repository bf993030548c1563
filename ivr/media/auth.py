"""Who may open a media stream: Twilio signs the WebSocket upgrade like a GET webhook.

``X-Twilio-Signature`` is computed over the stream URL as written in our TwiML, with no
parameters. The media process checks it against that configured URL only (``stream_urls``:
``media_url``, else the public URL's ``/media``), over ws/wss and http/https (which some proxies
show), never against a URL built from the request's Host. The handshake proves little on its own
(the same for every call): the per-call token in ``start`` (``ivr.media.admission``) is what
admits a stream for one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator


def candidate_urls(path_qs: str, host: str, media_url: str | None) -> list[str]:
    """The URLs Twilio may have signed for a request to ``path_qs`` on ``host``."""
    urls: list[str] = []
    if media_url:
        parts = urlsplit(media_url)
        query = path_qs.split("?", 1)[1] if "?" in path_qs else ""
        base = media_url.split("?", 1)[0]
        urls.append(f"{base}?{query}" if query else media_url)
        if parts.query and not query:
            urls.append(base)
    if host:
        for scheme in ("wss", "ws", "https", "http"):
            urls.append(f"{scheme}://{host}{path_qs}")
    return urls


def configured_urls(stream_url: str) -> list[str]:
    """The configured stream URL as Twilio signed it, and its http(s) twin."""
    twin = "http" + stream_url[2:] if stream_url.startswith("ws") else stream_url
    return [stream_url, twin]


def twilio_stream_auth(token: Callable[[], str],
                       media_url: Callable[[], str | None] = lambda: None,
                       stream_url: Callable[[], str] | None = None,
                       ) -> Callable[[str, Any], bool]:
    """An auth check for ``MediaServer``: a token is required (an empty one refuses everyone).

    ``stream_url`` (the media process): only the configured URL counts. Without it (embedded
    test servers) ``media_url`` or the request's Host are tried.
    """

    def check(path_qs: str, headers: Any) -> bool:
        secret = token()
        sig = headers.get("X-Twilio-Signature", "")
        if not secret or not sig:
            return False
        validator = RequestValidator(secret)
        if stream_url is not None:
            urls = configured_urls(stream_url())
        else:
            urls = candidate_urls(path_qs, headers.get("Host", ""), media_url())
        return any(validator.validate(url, {}, sig) for url in urls)

    return check
