"""One failsafe per Twilio-facing blueprint: any error after the signature check still answers
TwiML that ends with a human (never a 500 and Twilio's own error message)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from ivr import metrics
from ivr.privacy import mask_number

log = logging.getLogger(__name__)


def install_failsafe(bp: Blueprint, answer: Callable[[], Response]) -> None:
    """Every route of ``bp``: an exception (Redis down, REST down, a bug) -> ``answer()``.

    HTTP errors the routes raise on purpose (403 bad signature, 400 malformed) pass through.
    """

    def handler(exc: Exception) -> Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        metrics.FAILSAFE.inc()
        log.error("webhook %s failed for CallSid=%s from %s (%s: %s); failsafe to a human",
                  request.path, request.values.get("CallSid", "-"),
                  mask_number(request.values.get("From")), type(exc).__name__, exc,
                  exc_info=not _is_outage(exc))
        return answer()

    bp.register_error_handler(Exception, handler)


def _is_outage(exc: Exception) -> bool:
    """Redis or a lock being unreachable is expected in an outage: no stack trace needed."""
    import redis

    return isinstance(exc, (redis.exceptions.RedisError, TimeoutError, ConnectionError))
