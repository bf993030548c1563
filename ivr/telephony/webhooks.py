"""Twilio-facing call-flow routes: /voice/incoming, /voice/menu, /voice/status, /voice/fallback.

Every route checks X-Twilio-Signature (403, no state change). Every failure after that answers
valid TwiML that puts the caller through to a human: a caller is never left with an error tone.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, request

from ivr import metrics
from ivr.public_url import (
    MEDIA_PORT_ENV,  # noqa: F401 - imported from here
    stream_url,
)
from ivr.services import get_services
from ivr.telephony.failsafe import install_failsafe
from ivr.telephony.signature import malformed_parameters
from ivr.telephony.webhook_auth import signed, signed_any_format

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

CALL_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}", re.ASCII)  # always used with fullmatch
DIGITS_RE = re.compile(r"[0-9*#]{0,16}", re.ASCII)
NUMBER_RE = re.compile(r"-?[0-9]{1,9}", re.ASCII)


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




def ws_base() -> str:
    """The media stream's URL as Twilio must reach it (the media process, not this worker):
    config ``media_url``, else the public URL's ``/media`` (``Services.media_stream_url``);
    never this request's Host."""
    svc = get_services()
    return stream_url(svc.settings, svc.config)


@bp.post("/incoming")
@signed
def incoming() -> Response:
    sid = call_sid()
    verstat = request.form.get("StirVerstat")
    if verstat:  # the caller-verification verdict, for a call-back offered later
        svc = get_services()
        svc.sessions.remember_verstat(sid, verstat,
                                      svc.config.current.service.retention.session_ttl_seconds)
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
@signed_any_format
def fallback() -> Response:
    """Twilio's Fallback URL: our primary answer failed, so go straight to a human.

    Signed like every route, but a parameter that does not fit its format is only logged: the
    answer uses none of them, and a caller who reached the fallback must still reach a person.
    """
    metrics.FAILSAFE.inc()
    bad = malformed_parameters(request)
    if bad:
        log.warning("fallback URL called with malformed parameters %s", ",".join(bad))
    log.error("fallback URL called for CallSid=%r (ErrorCode=%r)",
              request.form.get("CallSid", "-")[:40], request.form.get("ErrorCode", "-")[:8])
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
