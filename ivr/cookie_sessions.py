"""Flask's signed-cookie sessions, with the signing serializer built once per secret.

Why: Flask builds a new ``URLSafeTimedSerializer`` in ``open_session`` on every request, even when
the request carries no cookie; every Twilio webhook paid for it. The cookies, keys, salt and
signing are exactly Flask's; only the serializer object is reused while the secret is the same.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedCookieSessions(SecureCookieSessionInterface):
    """``SecureCookieSessionInterface`` whose serializer is kept per (secret, fallbacks)."""

    def __init__(self) -> None:
        self._cached: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # A changed secret (or fallback list) builds a new one, so key rotation still works.
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._cached = (key, serializer)
        return serializer
