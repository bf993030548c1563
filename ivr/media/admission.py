"""Which media stream may carry a call's audio: checked on its ``start`` message (Redis I/O).

A stream is admitted only if its ``start`` carries the per-call token of the TwiML that started
it (``ivr.telephony.stream_token``: HMAC of the CallSid, with an expiry), names our Twilio
account, belongs to a call that is live (its session exists and the caller has not left), and is
the first stream of that call (a Redis ``SET NX``, kept for the session's lifetime, so a replayed
handshake + start is refused even after the real stream ended). Redis unreachable: refused (the
call goes on with keys; a person is one key away).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from ivr.flow.session import session_key, stream_key
from ivr.speech.stream_messages import Start
from ivr.telephony.stream_token import PARAMETER, check_token

log = logging.getLogger(__name__)

ACCOUNT_MISMATCH, NOT_LIVE, SECOND_STREAM, STORE_DOWN = (
    "account_mismatch", "call_not_live", "second_stream", "store_down")


class StreamAdmission:
    """``admit(start) -> None | reason``; blocking (Redis), so the server runs it off its loop."""

    def __init__(self, redis_client, secret: str, account_sid: str,
                 session_ttl: Callable[[], int], clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.secret = secret
        self.account_sid = account_sid
        self.session_ttl = session_ttl
        self.clock = clock

    def admit(self, start: Start) -> str | None:
        sid = start.call_sid
        reason = check_token(self.secret, sid, start.custom_parameters.get(PARAMETER),
                             self.clock())
        if reason is not None:
            return reason
        if start.account_sid != self.account_sid:
            return ACCOUNT_MISMATCH
        try:
            raw = self.redis.get(session_key(sid))
            if not raw or _left(raw):
                return NOT_LIVE
            first = self.redis.set(stream_key(sid), start.stream_sid, nx=True,
                                   ex=max(60, int(self.session_ttl())))
        except Exception:  # redis errors and timeouts alike: refuse, the call goes on with keys
            log.warning("could not check the media stream of %s; refused", sid, exc_info=True)
            return STORE_DOWN
        return None if first else SECOND_STREAM


def _left(raw: str) -> bool:
    try:
        return bool(json.loads(raw).get("left"))
    except (ValueError, AttributeError):
        return True
