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
    params = req.form.to_dict(flat=True) if req.method == "POST" else {}
    return RequestValidator(auth_token).validate(url, params, sig)


def twilio_signed(get_context: Callable[[], tuple[str, str | None, Iterable[str]]]):
    """Decorator factory: reject (403, logged) any request whose signature does not verify.

    ``get_context`` returns (auth_token, public_url, trusted_proxies) at request time, so a config
    reload changes the public URL without re-registering routes.
    """

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            token, public_url, proxies = get_context()
            url = signed_url(request, public_url, proxies)
            if not signature_ok(request, token, url):
                log.warning(
                    "rejected webhook with bad or missing signature: %s %s (CallSid=%s)",
                    request.method,
                    url,
                    request.values.get("CallSid", "-"),
                )
                abort(403)
            return view(*args, **kwargs)

        return inner

    return wrap
