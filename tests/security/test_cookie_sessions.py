"""Session cookies with the signing serializer reused: still Flask's signing, still rotated."""

from __future__ import annotations

from flask import Flask, session

from ivr.cookie_sessions import CachedCookieSessions


def _app(secret: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret
    app.session_interface = CachedCookieSessions()

    @app.get("/set")
    def set_value():
        session["who"] = "wang"
        return "ok"

    @app.get("/get")
    def get_value():
        return session.get("who", "-")

    return app


def test_a_cookie_signed_by_us_is_read_back_and_a_tampered_one_is_not():
    app = _app("first-secret")
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").data == b"wang"
    cookie = client.get_cookie("session").value
    client.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get("/get").data == b"-"


def test_a_new_secret_takes_effect_and_fallbacks_still_rotate():
    app = _app("first-secret")
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").data == b"wang"  # the serializer for the first secret is cached
    app.secret_key = "second-secret"
    assert client.get("/get").data == b"-"  # old cookies no longer verify...
    app.config["SECRET_KEY_FALLBACKS"] = ["first-secret"]
    assert client.get("/get").data == b"wang"  # ...unless the old secret is a fallback
