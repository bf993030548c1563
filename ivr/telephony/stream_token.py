"""Per-call media stream tokens (pure: no I/O, no Flask, no asyncio; any process can use it).

Why: Twilio signs the WebSocket upgrade over the stream URL only, the same for every call, so a
leaked handshake header opened the socket for ever and ``start.callSid`` was trusted: audio could
be injected into any call. The TwiML's ``<Stream>`` now carries a ``<Parameter>`` with an HMAC of
the CallSid and an expiry; Twilio echoes it in the ``start`` message's ``customParameters``, and
the media server admits the stream only for that call, before the expiry.

Token: ``"<expires unix seconds>.<base64url HMAC-SHA256>"`` over ``"<CallSid>|<expires>"`` with
a key derived from the service secret (``IVR_SECRET_KEY``), separate from its other uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PARAMETER = "ivr_stream_token"  # the <Parameter name> carrying the token
DEFAULT_TTL_SECONDS = 300  # Twilio opens the stream as soon as <Start> runs; minutes are plenty
_KEY_LABEL = b"elder-ivr media stream token v1"
_TOKEN_RE = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{43})", re.ASCII)
_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}", re.ASCII)

# Reasons a token is refused (stable codes for counters and logs).
MISSING, MALFORMED, EXPIRED, BAD_MAC = "token_missing", "token_malformed", "token_expired", \
    "token_bad_mac"


def _key(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, _KEY_LABEL, hashlib.sha256).digest()


def _mac(secret: str | bytes, call_sid: str, expires: int) -> str:
    digest = hmac.new(_key(secret), f"{call_sid}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_token(secret: str | bytes, call_sid: str, now: float,
               ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    """A token admitting one stream of ``call_sid`` until ``now + ttl_seconds``."""
    if not secret:
        raise ValueError("a stream token needs a secret")
    expires = int(now) + int(ttl_seconds)
    return f"{expires}.{_mac(secret, call_sid, expires)}"


def check_token(secret: str | bytes, call_sid: str, token: str | None, now: float) -> str | None:
    """None when ``token`` admits ``call_sid`` at ``now``; else the reason it does not."""
    if not token:
        return MISSING
    m = _TOKEN_RE.fullmatch(token)
    if m is None or not _SID_RE.fullmatch(call_sid or "") or not secret:
        return MALFORMED
    expires = int(m.group(1))
    if not hmac.compare_digest(_mac(secret, call_sid, expires), m.group(2)):
        return BAD_MAC
    if now > expires:
        return EXPIRED
    return None
