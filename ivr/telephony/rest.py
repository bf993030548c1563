"""Twilio REST client with a configurable base URL, so a local stand-in can take the calls."""

from __future__ import annotations

import logging
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):
    """Sends every api.twilio.com request to ``base_url`` instead (same paths, same auth)."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # noqa: D401
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def make_client(account_sid: str, auth_token: str, api_base: str = TWILIO_API) -> Client:
    """An official twilio Client; requests go to ``api_base`` when it is not Twilio's own."""
    http = None if api_base.rstrip("/") == TWILIO_API else RebasedHttpClient(api_base)
    return Client(account_sid, auth_token, http_client=http)


class CallControl:
    """The few REST actions the IVR takes on live calls."""

    def __init__(self, client: Client):
        self.client = client

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

    def call(self, to: str, from_: str, url: str, status_callback: str | None = None) -> str:
        """Place an outbound call (call-back); returns its CallSid."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "url": url, "method": "POST"}
        if status_callback:
            kwargs["status_callback"] = status_callback
        return self.client.calls.create(**kwargs).sid
