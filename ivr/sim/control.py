"""Control flow of the interpreter: moving to another document, being interrupted, ending.

Twilio abandons the current document at once when a verb hands over (Redirect, a Gather action)
or a REST update arrives; exceptions give exactly that "drop everything" behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Instruction:
    """What a REST request asks of a live call."""

    kind: str  # redirect | twiml | hangup | dequeue | bridge
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    queue_sid: str | None = None
    detail: dict = field(default_factory=dict)


class Transfer(Exception):  # noqa: N818 - control flow, not an error
    """Fetch ``url`` (or run ``twiml``) next, abandoning the current document."""

    def __init__(self, url: str | None = None, method: str = "POST",
                 params: dict[str, str] | None = None, twiml: str | None = None,
                 base_url: str | None = None):
        super().__init__(url or "inline TwiML")
        self.url = url
        self.method = method
        self.params = params or {}
        self.twiml = twiml
        self.base_url = base_url


class RestInterrupt(Exception):  # noqa: N818
    """A REST update reached the call; the current verb must stop now."""

    def __init__(self, instruction: Instruction):
        super().__init__(instruction.kind)
        self.instruction = instruction


class CallEnded(Exception):  # noqa: N818
    """The call is over: ``reason`` is caller_hangup, app_hangup, rest_completed, rejected,
    end_of_twiml, max_duration or app_error."""

    def __init__(self, reason: str, status: str = "completed"):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class LeaveQueue(Exception):  # noqa: N818
    """<Leave> in a waitUrl document."""
