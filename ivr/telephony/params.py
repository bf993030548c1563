"""Formats of the Twilio request parameters the service reads (pure, no Flask).

Why: Twilio's signature covers the concatenation of sorted ``key + value`` pairs, so it cannot tell
``Caller=+8613...Digits0`` from ``Caller=+8613...`` + ``Digits=0``: a key/value boundary shift keeps
a valid signature. Every parameter we read must therefore fit its own narrow format (a phone
number cannot contain ``Digits``); a request that does not fit is refused. Parameters we do not
read are ignored, since Twilio adds new ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

AGENT_ID = r"[a-z0-9][a-z0-9_.-]{0,63}"


def _sid(prefix: str) -> str:
    return prefix + r"[0-9a-fA-F]{32}"


def _one_of(*values: str) -> str:
    return "|".join(re.escape(v) for v in values)


# A caller/callee: E.164 (or national digits), a Twilio Client identity, a SIP URI, or one of the
# words carriers use for a withheld number (those callers must still reach a person).
PARTY = (r"|\+?[0-9]{1,20}|client:[A-Za-z0-9_.@-]{1,120}|sips?:[A-Za-z0-9_.@:;=+-]{1,200}"
         r"|(?i:anonymous|restricted|unknown|unavailable|private)")
CALL_STATUS = _one_of("queued", "initiated", "ringing", "in-progress", "completed", "busy",
                      "failed", "no-answer", "canceled")

# Form (body) parameters the service reads, by name.
FORM_FORMATS: dict[str, str] = {
    "CallSid": _sid("CA"),
    "AccountSid": _sid("AC"),
    "ParentCallSid": _sid("CA"),
    "DialCallSid": _sid("CA"),
    "DequeingCallSid": _sid("CA"),
    "QueueSid": _sid("QU"),
    "From": PARTY,
    "To": PARTY,
    "Caller": PARTY,
    "Called": PARTY,
    "Digits": r"[0-9*#]{0,32}",
    "CallStatus": CALL_STATUS,
    "DialCallStatus": _one_of("completed", "answered", "busy", "no-answer", "failed",
                              "canceled"),
    "QueueResult": _one_of("bridged", "bridging-in-process", "error", "hangup", "leave",
                           "redirected", "redirected-from-bridged", "queue-full",
                           "system-error"),
    "ErrorCode": r"[0-9]{1,6}",
    "StirVerstat": r"[A-Za-z0-9-]{1,64}",
}

# Numbers (QueueTime, CallDuration, our own ``step``) are not listed: the views parse them
# leniently (unparsable = absent, the caller is served where they are), never as text or keys.

# Query parameters of our own URLs (the TwiML and REST URLs we hand to Twilio).
QUERY_FORMATS: dict[str, str] = {
    "intent": r"[a-z][a-z0-9_]{0,31}",
    "agent": AGENT_ID,
    "entry": _sid("CA"),
}

_COMPILED = {
    "form": {k: re.compile(v, re.ASCII) for k, v in FORM_FORMATS.items()},
    "query": {k: re.compile(v, re.ASCII) for k, v in QUERY_FORMATS.items()},
}


def fits(kind: str, name: str, value: str) -> bool:
    """True if ``value`` is a well-formed ``name`` ("form" or "query" parameter)."""
    pattern = _COMPILED[kind].get(name)
    return pattern is None or pattern.fullmatch(value) is not None


def bad_parameters(form_items: Callable[[str], Iterable[str]], form_names: Iterable[str],
                   query_items: Callable[[str], Iterable[str]],
                   query_names: Iterable[str]) -> list[str]:
    """Names of read parameters that do not fit their format or appear more than once.

    ``*_items(name)`` returns every value given for ``name`` (a MultiDict's ``getlist``).
    """
    bad: list[str] = []
    for kind, names, items in (("form", form_names, form_items),
                               ("query", query_names, query_items)):
        for name in names:
            if name not in _COMPILED[kind]:
                continue  # not read by the service: Twilio may add parameters at any time
            values = list(items(name))
            if len(values) > 1 or not all(fits(kind, name, v) for v in values):
                bad.append(f"{kind}:{name}")
    return bad
