"""Twilio-facing call-flow routes: /voice/incoming, /voice/menu, /voice/status, /voice/fallback.

Every route checks X-Twilio-Signature (403, no state change). Every failure after that answers
valid TwiML that puts the caller through to a human: a caller is never left with an error tone.
"""

from __future__ import annotations

import logging
import os
import re

from flask import Blueprint, Response, abort, request

from ivr import metrics
from ivr.services import get_services
from ivr.telephony.failsafe import install_failsafe
from ivr.telephony.webhook_auth import signed

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

CALL_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}")  # always used with fullmatch
DIGITS_RE = re.compile(r"[0-9*#]{0,16}")
NUMBER_RE = re.compile(r"-?[0-9]{1,9}")


def xml(body: str) -> Response:
    return Response(body, mimetype="application/xml")


def _failsafe_answer() -> Response:
    if request.endpoint == "voice.status":
        return Response(status=204)  # a status callback: nobody to answer; the reaper cleans up
    return xml(get_services().flow.failsafe())


install_failsafe(bp, _failsafe_answer)


def number(raw: str | None) -> int | None:
    """A number Twilio (or our own URL) sent; anything unparsable is treated as absent."""
    if raw is None or not NUMBER_RE.fullmatch(raw):
        return None
    return int(raw)


def call_sid() -> str:
    sid = request.form.get("CallSid", "")
    if not CALL_SID_RE.fullmatch(sid):
        metrics.WEBHOOK_REJECTED.labels("malformed").inc()
        log.warning("malformed webhook %s: bad or missing CallSid", request.path)
        abort(400, description="CallSid missing or malformed")
    return sid


MEDIA_PORT_ENV = "IVR_MEDIA_PORT"  # set by `ivr serve` for the media process it starts


def ws_base() -> str:
    """The media stream's URL as Twilio must reach it (the media process, not this worker).

    ``media_url`` from config when set (a load balancer routes it to the media processes);
    else behind a ``public_url`` its ``/media`` (the proxy routes it); else this request's
    host on the media port ``ivr serve`` started the media process on.
    """
    service = get_services().config.current.service
    if service.media_url:
        return service.media_url
    if service.public_url:
        return re.sub(r"^http", "ws", service.public_url) + "/media"
    port = os.environ.get(MEDIA_PORT_ENV)
    if port:
        return f"ws://{request.host.rsplit(':', 1)[0]}:{port}/media"
    return re.sub(r"^http", "ws", request.host_url.rstrip("/")) + "/media"


@bp.post("/incoming")
@signed
def incoming() -> Response:
    sid = call_sid()
    return xml(get_services().flow.incoming(sid, request.form.get("From", ""), ws_base(),
                                            to_number=request.form.get("To", "")))


@bp.post("/menu")
@signed
def menu() -> Response:
    sid = call_sid()
    digits = request.form.get("Digits", "")
    intent = request.args.get("intent") or None
    if not DIGITS_RE.fullmatch(digits):
        metrics.WEBHOOK_REJECTED.labels("malformed").inc()
        log.warning("malformed menu webhook for %s: Digits not keys", sid)
        abort(400, description="Digits malformed")
    step = number(request.args.get("step"))  # unparsable: where the caller is now
    flow = get_services().flow
    return xml(flow.menu_input(sid, step, digits or None, intent, ws_base(),
                               from_number=request.form.get("From", "")))


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
def scam_warning() -> Response:
    """Reached by a REST redirect after a scam hit: a calm warning, then the front of the queue."""
    sid = call_sid()
    svc = get_services()
    record = svc.sessions.load(sid)
    dialect = record.state.dialect if record else svc.config.current.service.dialects.default
    warning = svc.config.current.scam.warning(dialect)
    context = {"scam": record.scam} if record and record.scam else None
    return xml(svc.flow.transfer_now(sid, "scam_risk", ws_base(), before=(warning,),
                                     priority="scam", context=context, slow=True,
                                     from_number=request.form.get("From", "")))
