"""Twilio REST client with a configurable base URL (a local stand-in can take the calls), a
timeout on every request, and a classification of failures that never guesses "caller gone"."""

from __future__ import annotations

import logging
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
DEFAULT_TIMEOUT = 5.0
ENDED_STATUSES = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})


class RebasedHttpClient(TwilioHttpClient):
    """Sends every api.twilio.com request to ``base_url`` instead (same paths, same auth)."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # noqa: D401
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def make_client(account_sid: str, auth_token: str, api_base: str = TWILIO_API,
                timeout: float = DEFAULT_TIMEOUT) -> Client:
    """An official twilio Client whose every request times out after ``timeout`` seconds;
    requests go to ``api_base`` when it is not Twilio's own."""
    if api_base.rstrip("/") == TWILIO_API:
        http: TwilioHttpClient = TwilioHttpClient(timeout=timeout)
    else:
        http = RebasedHttpClient(api_base, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http)


def classify(exc: BaseException) -> str:
    """What a REST failure means for the caller, from the answer Twilio gave (or did not).

    not_found: 404 (a member not in the queue yet, or a call that is gone: ask the call);
    auth (401/403), rate (429), server (5xx): Twilio or our account, never the caller;
    client: another 4xx; timeout: no answer, so the request may or may not have been applied.
    """
    if isinstance(exc, TwilioRestException):
        status = exc.status or 0
        if status == 404:
            return "not_found"
        if status in (401, 403):
            return "auth"
        if status == 429:
            return "rate"
        if status >= 500:
            return "server"
        if 400 <= status < 500:
            return "client"
        return "server"
    return "timeout"


class CallControl:
    """The few REST actions the IVR takes on live calls."""

    def __init__(self, client: Client):
        self.client = client

    # what a failure or a status means, for callers that do not import the Twilio edge
    classify = staticmethod(classify)

    @staticmethod
    def is_ended(status: str | None) -> bool:
        """True for a call Twilio reports as over (None: Twilio does not know the call)."""
        return status is None or status in ENDED_STATUSES

    def redirect(self, call_sid: str, url: str) -> None:
        """Abandon the call's current TwiML and fetch ``url`` (speech intents, scam warnings)."""
        self.client.calls(call_sid).update(url=url, method="POST")

    def hangup(self, call_sid: str) -> None:
        self.client.calls(call_sid).update(status="completed")

    def dequeue(self, queue_sid: str, call_sid: str, url: str) -> None:
        """Take THAT caller out of the Twilio queue and send them to ``url`` (agent accepted)."""
        self.client.queues(queue_sid).members(call_sid).update(url=url, method="POST")

    def queue_sid(self, friendly_name: str) -> str | None:
        """Twilio's SID for a queue name (created by <Enqueue> on first use)."""
        for q in self.client.queues.list(limit=100):
            if q.friendly_name == friendly_name:
                return q.sid
        return None

    def queue_members(self, queue_sid: str, limit: int = 5000) -> list[str]:
        """CallSids waiting in Twilio's queue (Queue Members list, all pages up to ``limit``)."""
        return [m.call_sid for m in self.client.queues(queue_sid).members.stream(
            limit=limit, page_size=1000)]

    def in_queue(self, queue_sid: str, call_sid: str) -> bool:
        """Is THAT caller a member of the queue right now? (404 = no)"""
        try:
            self.client.queues(queue_sid).members(call_sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def call_status(self, call_sid: str) -> str | None:
        """Twilio's status of a call ("in-progress", "completed"...); None when unknown (404)."""
        try:
            return self.client.calls(call_sid).fetch().status
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise

    def caller_number(self, call_sid: str) -> str:
        """The From number of a live call ('' when Twilio does not say)."""
        return getattr(self.client.calls(call_sid).fetch(), "_from", None) or ""

    def call(self, to: str, from_: str, url: str, status_callback: str | None = None) -> str:
        """Place an outbound call (call-back); returns its CallSid."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "url": url, "method": "POST"}
        if status_callback:
            kwargs["status_callback"] = status_callback
        return self.client.calls.create(**kwargs).sid
