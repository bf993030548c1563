"""Signed HTTP requests to the app, the way Twilio makes them.

POST: form body, signature over URL + sorted params. GET: params appended to the query string,
signature over that full URL and no params. Both with twilio's own RequestValidator, so what the
app verifies is exactly what Twilio would have sent.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

TWIML_TYPES = ("text/xml", "application/xml", "text/html")
USER_AGENT = "TwilioProxy/1.1"


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two-letter prefix + 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def resolve(base: str, url: str) -> str:
    """Relative URLs resolve against the current document URL, as Twilio does."""
    return urljoin(base, url)


def get_url(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


@dataclass
class Reply:
    url: str
    method: str
    status: int
    content_type: str
    body: bytes
    latency: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Webhooks:
    """One HTTP session per call (keep-alive like Twilio), signing every request."""

    def __init__(self, auth_token: str, timeout: float = 15.0):
        self.validator = RequestValidator(auth_token)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def sign(self, url: str, params: dict[str, str] | None = None) -> str:
        return self.validator.compute_signature(url, params or {})

    def request(self, method: str, url: str, params: dict[str, str]) -> Reply:
        """Send a signed webhook; network errors raise requests exceptions."""
        method = method.upper()
        headers = {"I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        start = time.monotonic()
        if method == "GET":
            full = get_url(url, params)
            headers["X-Twilio-Signature"] = self.sign(full)
            resp = self.session.get(full, headers=headers, timeout=self.timeout)
        else:
            full = url
            headers["X-Twilio-Signature"] = self.sign(url, params)
            resp = self.session.post(url, data=params, headers=headers, timeout=self.timeout)
        latency = time.monotonic() - start
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return Reply(full, method, resp.status_code, ctype, resp.content, latency)

    def fetch(self, url: str) -> Reply:
        """GET a media file (<Play>); signed too, harmless if the app does not check."""
        start = time.monotonic()
        resp = self.session.get(
            url, headers={"X-Twilio-Signature": self.sign(url)}, timeout=self.timeout
        )
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return Reply(url, "GET", resp.status_code, ctype, resp.content, time.monotonic() - start)

    def close(self) -> None:
        self.session.close()
