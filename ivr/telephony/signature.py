"""X-Twilio-Signature checks: the only proof a webhook came from Twilio.

The signed URL is the one Twilio called, which behind a proxy differs from what Flask sees; it is
rebuilt from the configured public URL, or from forwarded headers sent by a trusted proxy only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from flask import Request, abort, request
from twilio.request_validator import RequestValidator

from ivr.metrics import WEBHOOK_REJECTED as REJECTED
from ivr.telephony.params import bad_parameters

log = logging.getLogger(__name__)


def signed_url(req: Request, public_url: str | None, trusted_proxies: Iterable[str]) -> str:
    """The URL Twilio signed: public base + path + query, else forwarded headers from a proxy."""
    path_qs = req.full_path if req.query_string else req.path
    if public_url:
        base = public_url.rstrip("/")
        prefix = urlsplit(base).path.rstrip("/")
        if prefix and path_qs.startswith(prefix + "/"):
            path_qs = path_qs[len(prefix) :]  # app mounted under the public prefix
        return base + path_qs
    if req.remote_addr in set(trusted_proxies):
        proto = req.headers.get("X-Forwarded-Proto", req.scheme).split(",")[0].strip()
        host = req.headers.get("X-Forwarded-Host", req.host).split(",")[0].strip()
        return f"{proto}://{host}{path_qs}"
    return f"{req.scheme}://{req.host}{path_qs}"


def signature_ok(req: Request, auth_token: str, url: str) -> bool:
    """Validate with twilio's RequestValidator (form params for POST, none for GET)."""
    sig = req.headers.get("X-Twilio-Signature", "")
    if not sig or not auth_token:
        return False
    # the MultiDict itself: a repeated parameter is signed with every value (sorted), as Twilio does
    params = req.form if req.method == "POST" else {}
    return _validator(auth_token).validate(url, params, sig)


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    """One validator per token (one per process; a few in tests), not one per request."""
    return RequestValidator(auth_token)


def malformed_parameters(req: Request) -> list[str]:
    """The parameters we read whose value does not fit its format (``ivr.telephony.params``)."""
    form = req.form if req.method == "POST" else None
    return bad_parameters(
        form.getlist if form is not None else (lambda name: ()),
        list(form.keys()) if form is not None else [],
        req.args.getlist, list(req.args.keys()),
    )


def twilio_signed(get_context: Callable[[], tuple[str, str | None, Iterable[str]]],
                  check_formats: bool = True):
    """Decorator factory: reject (403, logged) any request whose signature does not verify,
    then (400, logged) any whose read parameters do not fit their format.

    ``get_context`` returns (auth_token, public_url, trusted_proxies) at request time, so a config
    reload changes the public URL without re-registering routes.
    """

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            token, public_url, proxies = get_context()
            url = signed_url(request, public_url, proxies)
            if not signature_ok(request, token, url):
                REJECTED.labels("signature").inc()
                log.warning(
                    "rejected webhook with bad or missing signature: %s %s (CallSid=%r)",
                    request.method,
                    url,
                    request.values.get("CallSid", "-")[:40],
                )
                abort(403)
            bad = malformed_parameters(request) if check_formats else []
            if bad:
                REJECTED.labels("malformed").inc()
                log.warning("refused webhook with malformed parameters %s: %s %s", ",".join(bad),
                            request.method, request.path)
                abort(400, description="malformed parameters: " + ",".join(bad))
            return view(*args, **kwargs)

        return inner

    return wrap
