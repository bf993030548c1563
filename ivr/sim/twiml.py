"""Strict TwiML (Voice) parsing: the stand-in must refuse what Twilio would refuse.

A TwiML bug found here costs a test run; found on a live hotline it costs an elderly caller a
dropped call. So unknown verbs, bad nesting, unknown attributes and bad values are errors that name
the verb (``TwiMLError``). Tables follow Twilio's TwiML Voice reference and twilio-python's
builders (``twilio.twiml.voice_response``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

Validator = Callable[[str], str | None]  # returns an error message, or None when the value is ok


class TwiMLError(ValueError):
    """TwiML Twilio would reject; ``verb`` names the offending verb or noun."""

    def __init__(self, verb: str, message: str):
        super().__init__(f"<{verb}>: {message}")
        self.verb = verb


@dataclass
class Node:
    """One verb or noun: tag name, attributes, stripped text and child nodes."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.attrs.get(key, default)

    def child_texts(self) -> str:
        """Text with nested SSML flattened (what <Say> speaks)."""
        parts = [self.text]
        for c in self.children:
            parts.append(c.child_texts())
        return " ".join(p for p in parts if p).strip()


# --- value validators -------------------------------------------------------------------------

def _any(_: str) -> str | None:
    return None


def _url(v: str) -> str | None:
    return None if v.strip() else "empty URL"


def _method(v: str) -> str | None:
    return None if v.upper() in ("GET", "POST") else f"method must be GET or POST, not {v!r}"


def _int(lo: int, hi: int | None = None) -> Validator:
    def check(v: str) -> str | None:
        if not re.fullmatch(r"\d+", v.strip()):
            return f"{v!r} is not a whole number"
        n = int(v)
        if n < lo or (hi is not None and n > hi):
            return f"{n} is out of range [{lo}, {hi if hi is not None else '...'}]"
        return None

    return check


def _enum(*allowed: str) -> Validator:
    def check(v: str) -> str | None:
        return None if v in allowed else f"{v!r} is not one of {', '.join(allowed)}"

    return check


_BOOL = _enum("true", "false")
_KEYS = set("0123456789*#")


def _finish_key(v: str) -> str | None:
    return None if v == "" or (len(v) == 1 and v in _KEYS) else f"finishOnKey {v!r} is not a key"


def _record_keys(v: str) -> str | None:
    return None if set(v) <= _KEYS else f"finishOnKey {v!r} has characters that are not keys"


def _play_digits(v: str) -> str | None:
    return None if re.fullmatch(r"[0-9*#wW]+", v) else f"digits {v!r} may hold only 0-9 * # w W"


def _gather_input(v: str) -> str | None:
    parts = v.split()
    ok = parts and set(parts) <= {"dtmf", "speech"} and len(parts) == len(set(parts))
    return None if ok else f"input {v!r} must be dtmf, speech or 'dtmf speech'"


def _speech_timeout(v: str) -> str | None:
    return None if v == "auto" else _int(0)(v)


def _stream_url(v: str) -> str | None:
    if not v.strip():
        return "empty URL"
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", v) and not v.startswith(("ws://", "wss://")):
        return f"stream url {v!r} must use wss:// (or ws:// locally)"
    return None


# --- the verb table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    attrs: dict[str, Validator]
    children: frozenset[str] = frozenset()
    text: str = "forbidden"  # forbidden | optional | required
    required: tuple[str, ...] = ()


_CB = {"statusCallback": _url, "statusCallbackMethod": _method, "statusCallbackEvent": _any}
_REC_CB = {
    "recordingStatusCallback": _url,
    "recordingStatusCallbackMethod": _method,
    "recordingStatusCallbackEvent": _any,
}
_SSML = frozenset(
    {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)
_STREAM = {
    "name": _any, "connectorName": _any, "url": _stream_url,
    "track": _enum("inbound_track", "outbound_track", "both_tracks"),
    "statusCallback": _url, "statusCallbackMethod": _method,
}

SPECS: dict[str, Spec] = {
    "Say": Spec({"voice": _any, "language": _any, "loop": _int(0)}, _SSML, "optional"),
    "Play": Spec({"loop": _int(0), "digits": _play_digits}, text="optional"),
    "Pause": Spec({"length": _int(1, 14400)}),
    "Gather": Spec(
        {
            "action": _url, "method": _method, "timeout": _int(1, 600),
            "finishOnKey": _finish_key, "numDigits": _int(1), "input": _gather_input,
            "speechTimeout": _speech_timeout, "maxSpeechTime": _int(1),
            "profanityFilter": _BOOL, "partialResultCallback": _url,
            "partialResultCallbackMethod": _method, "language": _any, "hints": _any,
            "bargeIn": _BOOL, "debug": _BOOL, "actionOnEmptyResult": _BOOL,
            "speechModel": _any, "enhanced": _BOOL, "dtmfDetection": _BOOL,
        },
        frozenset({"Say", "Play", "Pause"}),
    ),
    "Record": Spec(
        {
            "action": _url, "method": _method, "timeout": _int(0), "finishOnKey": _record_keys,
            "maxLength": _int(1, 14400), "playBeep": _BOOL,
            "trim": _enum("trim-silence", "do-not-trim"), "transcribe": _BOOL,
            "transcribeCallback": _url, "recordingChannels": _enum("mono", "dual"),
            "storageUrl": _url, "storageUrlMethod": _method, **_REC_CB,
        }
    ),
    "Redirect": Spec({"method": _method}, text="required"),
    "Hangup": Spec({}),
    "Reject": Spec({"reason": _enum("rejected", "busy")}),
    "Leave": Spec({}),
    "Enqueue": Spec(
        {
            "action": _url, "method": _method, "waitUrl": _url, "waitUrlMethod": _method,
            "workflowSid": _any, "maxQueueSize": _int(1, 5000),
        },
        frozenset({"Task"}),
        "optional",
    ),
    "Task": Spec({"priority": _int(0), "timeout": _int(1)}, text="required"),
    "Dial": Spec(
        {
            "action": _url, "method": _method, "timeout": _int(5, 600), "hangupOnStar": _BOOL,
            "timeLimit": _int(1, 86400), "callerId": _any,
            "record": _enum(
                "do-not-record", "record-from-answer", "record-from-ringing",
                "record-from-answer-dual", "record-from-ringing-dual", "true", "false",
            ),
            "trim": _enum("trim-silence", "do-not-trim"), "answerOnBridge": _BOOL,
            "ringTone": _any, "recordingTrack": _enum("both", "inbound", "outbound"),
            "sequential": _BOOL, "referUrl": _url, "referMethod": _method, "events": _any,
            **_REC_CB,
        },
        frozenset({"Number", "Client", "Queue", "Sip", "Conference", "Sim", "Application"}),
        "optional",
    ),
    "Number": Spec(
        {"sendDigits": _play_digits, "url": _url, "method": _method, "byoc": _any,
         "machineDetection": _enum("Enable", "DetectMessageEnd"), **_CB},
        text="required",
    ),
    "Client": Spec(
        {"url": _url, "method": _method, **_CB}, frozenset({"Identity", "Parameter"}), "optional"
    ),
    "Identity": Spec({}, text="required"),
    "Queue": Spec(
        {"url": _url, "method": _method, "reservationSid": _any, "postWorkActivitySid": _any},
        text="required",
    ),
    "Start": Spec({"action": _url, "method": _method}, frozenset({"Stream", "Siprec"})),
    "Stop": Spec({}, frozenset({"Stream", "Siprec"})),
    "Connect": Spec({"action": _url, "method": _method}, frozenset({"Stream"})),
    "Stream": Spec(_STREAM, frozenset({"Parameter"})),
    "Parameter": Spec({"name": _any, "value": _any}, required=("name", "value")),
    "Siprec": Spec({"name": _any, "connectorName": _any, "track": _any}, frozenset({"Parameter"})),
}
for _tag in _SSML:  # SSML inside <Say>: attributes are the voice engine's business
    SPECS[_tag] = Spec({}, _SSML, "optional")

TOP_LEVEL = frozenset(
    {"Say", "Play", "Pause", "Gather", "Record", "Redirect", "Hangup", "Reject", "Leave",
     "Enqueue", "Dial", "Start", "Stop", "Connect"}
)
# Real Twilio verbs/nouns this stand-in does not simulate: a clear error, not "unknown verb".
UNSUPPORTED = frozenset(
    {"Sms", "Pay", "Prompt", "Refer", "Echo", "Sip", "Conference", "Sim", "Application",
     "Room", "Conversation", "VirtualAgent", "ConversationRelay", "Autopilot", "Transcription"}
)


def parse(xml_text: str | bytes, strict: bool = True) -> list[Node]:
    """Parse and validate a TwiML document; returns the verbs under <Response>."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise TwiMLError("Response", f"not well-formed XML: {exc}") from exc
    if root.tag != "Response":
        raise TwiMLError(root.tag, "the root element must be <Response>")
    if root.attrib and strict:
        raise TwiMLError("Response", f"takes no attributes, got {sorted(root.attrib)}")
    if (root.text or "").strip():
        raise TwiMLError("Response", f"stray text {root.text.strip()[:30]!r} outside any verb")
    verbs = []
    for el in root:
        if el.tag not in TOP_LEVEL:
            _unknown(el.tag, "Response")
        verbs.append(_node(el, strict))
        if (el.tail or "").strip():
            raise TwiMLError(el.tag, f"stray text {el.tail.strip()[:30]!r} after the verb")
    return verbs


def _unknown(tag: str, parent: str) -> None:
    if tag in UNSUPPORTED:
        raise TwiMLError(tag, "is a Twilio verb this simulator does not support")
    if tag in SPECS:
        raise TwiMLError(tag, f"cannot be nested in <{parent}>")
    raise TwiMLError(tag, f"unknown verb/noun inside <{parent}>")


def _node(el: ET.Element, strict: bool) -> Node:
    spec = SPECS[el.tag]
    attrs = dict(el.attrib)
    for key, value in attrs.items():
        check = spec.attrs.get(key)
        if check is None:
            if strict and el.tag not in _SSML:
                raise TwiMLError(el.tag, f"unknown attribute {key!r}")
            continue
        problem = check(value)
        if problem:
            raise TwiMLError(el.tag, f"attribute {key}: {problem}")
    for key in spec.required:
        if key not in attrs:
            raise TwiMLError(el.tag, f"missing required attribute {key!r}")
    for key in ("method", "waitUrlMethod", "statusCallbackMethod"):
        if key in attrs:
            attrs[key] = attrs[key].upper()
    text = (el.text or "").strip()
    children = []
    for child in el:
        if child.tag not in spec.children or child.tag in UNSUPPORTED:
            _unknown(child.tag, el.tag)
        children.append(_node(child, strict))
        tail = (child.tail or "").strip()
        if tail and spec.text == "forbidden":
            raise TwiMLError(el.tag, f"stray text {tail[:30]!r}")
        if tail:
            text = f"{text} {tail}".strip()
    if text and spec.text == "forbidden":
        raise TwiMLError(el.tag, f"takes no text, got {text[:30]!r}")
    if not text and spec.text == "required":
        raise TwiMLError(el.tag, "needs text (a URL, number or name) inside the tag")
    node = Node(el.tag, attrs, text, children)
    _semantic_checks(node)
    return node


def _semantic_checks(node: Node) -> None:
    """Rules that are about the combination, not one attribute."""
    name = node.name
    if name == "Play" and not node.text and "digits" not in node.attrs:
        raise TwiMLError(name, "needs a URL (text) or a digits attribute")
    if name == "Say" and not node.child_texts():
        raise TwiMLError(name, "has nothing to say")
    if name == "Enqueue":
        if not node.text and "workflowSid" not in node.attrs:
            raise TwiMLError(name, "needs a queue name (text) or a workflowSid")
        if len(node.text) > 64:
            raise TwiMLError(name, "queue name is longer than 64 characters")
    if name == "Dial" and not node.text and not node.children:
        raise TwiMLError(name, "needs a number (text) or a noun (Number, Client, Queue...)")
    if name == "Dial" and node.text and node.children:
        raise TwiMLError(name, "cannot mix a number in text with nested nouns")
    if name == "Client" and not node.text and not any(
        c.name == "Identity" for c in node.children
    ):
        raise TwiMLError(name, "needs an identity")
    if name in ("Start", "Connect") and len(node.children) != 1:
        raise TwiMLError(name, f"needs exactly one noun, got {len(node.children)}")
    if name == "Connect" and node.children[0].get("track", "inbound_track") != "inbound_track":
        raise TwiMLError(name, "a bidirectional <Stream> supports only track='inbound_track'")
    if name == "Stream" and "url" not in node.attrs and "connectorName" not in node.attrs:
        raise TwiMLError(name, "needs a url attribute")
    if name == "Gather" and node.get("input", "dtmf") == "speech" and "numDigits" in node.attrs:
        raise TwiMLError(name, "numDigits makes no sense with input='speech'")
