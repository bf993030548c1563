"""Who may open a media stream: Twilio signs the WebSocket upgrade like a GET webhook.

``X-Twilio-Signature`` is computed over the stream URL as written in our TwiML, with no
parameters. That URL is the configured ``media_url`` when there is one (a load balancer in
front), else the Host the request names, over ws/wss (and http/https, which some proxies show).
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


def twilio_stream_auth(token: Callable[[], str],
                       media_url: Callable[[], str | None] = lambda: None
                       ) -> Callable[[str, Any], bool]:
    """An auth check for ``MediaServer``; an empty token (local demo) lets everyone in."""

    def check(path_qs: str, headers: Any) -> bool:
        secret = token()
        if not secret:
            return True
        sig = headers.get("X-Twilio-Signature", "")
        if not sig:
            return False
        validator = RequestValidator(secret)
        return any(validator.validate(url, {}, sig)
                   for url in candidate_urls(path_qs, headers.get("Host", ""), media_url()))

    return check
