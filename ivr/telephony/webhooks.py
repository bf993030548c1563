"""Twilio-facing call-flow routes: /voice/incoming, /voice/menu, /voice/status, /voice/fallback.

Every route checks X-Twilio-Signature (403, no state change). Every failure after that answers
valid TwiML that puts the caller through to a human: a caller is never left with an error tone.
"""

from __future__ import annotations

import functools
import logging
import re

from flask import Blueprint, Response, abort, request
from werkzeug.exceptions import HTTPException

from ivr import metrics
from ivr.privacy import mask_number
from ivr.services import get_services
from ivr.telephony.webhook_auth import signed

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

CALL_SID_RE = re.compile(r"^CA[0-9a-fA-F]{32}$")
DIGITS_RE = re.compile(r"^[0-9*#]{0,16}$")


def xml(body: str) -> Response:
    return Response(body, mimetype="application/xml")


def failsafe_on_error(view):
    """Any exception (Redis down, a bug) still answers TwiML that reaches a human."""

    @functools.wraps(view)
    def inner(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except HTTPException:
            raise
        except Exception:
            metrics.FAILSAFE.inc()
            log.exception("webhook %s failed for CallSid=%s from %s; failsafe to a human",
                          request.path, request.values.get("CallSid", "-"),
                          mask_number(request.values.get("From")))
            return xml(get_services().flow.failsafe())

    return inner


def call_sid() -> str:
    sid = request.form.get("CallSid", "")
    if not CALL_SID_RE.match(sid):
        metrics.WEBHOOK_REJECTED.labels("malformed").inc()
        log.warning("malformed webhook %s: bad or missing CallSid", request.path)
        abort(400, description="CallSid missing or malformed")
    return sid


def ws_base() -> str:
    """Base URL for the media socket, as Twilio must reach it (wss behind TLS)."""
    public = get_services().config.current.service.public_url
    base = public or request.host_url.rstrip("/")
    return re.sub(r"^http", "ws", base)


@bp.post("/incoming")
@signed
@failsafe_on_error
def incoming() -> Response:
    sid = call_sid()
    return xml(get_services().flow.incoming(sid, request.form.get("From", ""), ws_base()))


@bp.post("/menu")
@signed
@failsafe_on_error
def menu() -> Response:
    sid = call_sid()
    digits = request.form.get("Digits", "")
    step_arg = request.args.get("step", "")
    intent = request.args.get("intent") or None
    if not DIGITS_RE.match(digits) or not step_arg.lstrip("-").isdigit():
        metrics.WEBHOOK_REJECTED.labels("malformed").inc()
        log.warning("malformed menu webhook for %s: step=%r", sid, step_arg)
        abort(400, description="Digits or step malformed")
    flow = get_services().flow
    return xml(flow.menu_input(sid, int(step_arg), digits or None, intent, ws_base()))


@bp.post("/status")
@signed
def status() -> Response:
    sid = call_sid()
    state = request.form.get("CallStatus", "")
    if state in {"completed", "busy", "failed", "no-answer", "canceled"}:
        get_services().flow.call_ended(sid, state, request.form.get("CallDuration"))
    return Response(status=204)


@bp.post("/fallback")
@signed
def fallback() -> Response:
    """Twilio's Fallback URL: our primary answer failed, so go straight to a human."""
    metrics.FAILSAFE.inc()
    log.error("fallback URL called for CallSid=%s (ErrorCode=%s)",
              request.form.get("CallSid", "-"), request.form.get("ErrorCode", "-"))
    return xml(get_services().flow.failsafe())


@bp.post("/scam-warning")
@signed
@failsafe_on_error
def scam_warning() -> Response:
    """Reached by a REST redirect after a scam hit: a calm warning, then the front of the queue."""
    sid = call_sid()
    svc = get_services()
    record = svc.sessions.load(sid)
    dialect = record.state.dialect if record else svc.config.current.service.dialects.default
    warning = svc.config.current.scam.warning(dialect)
    context = {"scam": record.scam} if record and record.scam else None
    return xml(svc.flow.transfer_now(sid, "scam_risk", ws_base(), before=(warning,),
                                     priority="scam", context=context, slow=True))
