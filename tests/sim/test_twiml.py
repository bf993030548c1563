"""Strictness: what Twilio would reject is an error naming the verb."""

from __future__ import annotations

import pytest

from ivr.sim.twiml import TwiMLError, parse


def _err(xml: str) -> TwiMLError:
    with pytest.raises(TwiMLError) as info:
        parse(xml)
    return info.value


@pytest.mark.parametrize(
    ("xml", "verb", "words"),
    [
        ("<Response><Speak>hi</Speak></Response>", "Speak", "unknown"),
        ("<Response><Gather><Dial>123</Dial></Gather></Response>", "Dial", "cannot be nested"),
        ("<Response><Gather><Gather/></Gather></Response>", "Gather", "cannot be nested"),
        ("<Response><Say><Play>x</Play></Say></Response>", "Play", "cannot be nested"),
        ("<Response><Stream url='wss://x'/></Response>", "Stream", "cannot be nested"),
        ('<Response><Gather timeout="soon"/></Response>', "Gather", "timeout"),
        ('<Response><Gather numDigits="0"/></Response>', "Gather", "numDigits"),
        ('<Response><Gather finishOnKey="ab"/></Response>', "Gather", "finishOnKey"),
        ('<Response><Gather method="PUT"/></Response>', "Gather", "method"),
        ('<Response><Gather input="voice"/></Response>', "Gather", "input"),
        ('<Response><Gather actionOnEmptyResult="yes"/></Response>', "Gather", "actionOnEmpty"),
        ('<Response><Gather colour="red"/></Response>', "Gather", "unknown attribute"),
        ('<Response><Pause length="-1"/></Response>', "Pause", "length"),
        ('<Response><Say loop="x">hi</Say></Response>', "Say", "loop"),
        ("<Response><Say></Say></Response>", "Say", "nothing to say"),
        ("<Response><Play/></Response>", "Play", "URL"),
        ('<Response><Reject reason="angry"/></Response>', "Reject", "reason"),
        ("<Response><Hangup>now</Hangup></Response>", "Hangup", "no text"),
        ("<Response><Redirect/></Response>", "Redirect", "text"),
        ("<Response><Enqueue/></Response>", "Enqueue", "queue name"),
        (f"<Response><Enqueue>{'q' * 65}</Enqueue></Response>", "Enqueue", "64"),
        ('<Response><Enqueue waitUrlMethod="PATCH">q</Enqueue></Response>', "Enqueue", "method"),
        ("<Response><Dial/></Response>", "Dial", "needs a number"),
        ('<Response><Dial timeout="1">1</Dial></Response>', "Dial", "timeout"),
        ("<Response><Dial><Say>x</Say></Dial></Response>", "Say", "cannot be nested"),
        ("<Response><Dial><Conference>c</Conference></Dial></Response>", "Conference",
         "does not support"),
        ("<Response><Start/></Response>", "Start", "exactly one"),
        ("<Response><Start><Stream/></Start></Response>", "Stream", "url"),
        ("<Response><Start><Stream url='http://x/m'/></Start></Response>", "Stream", "wss"),
        ('<Response><Start><Stream url="wss://x" track="left"/></Start></Response>', "Stream",
         "track"),
        ('<Response><Connect><Stream url="wss://x" track="both_tracks"/></Connect></Response>',
         "Connect", "inbound_track"),
        ("<Response><Start><Stream url='wss://x'><Parameter name='a'/></Stream></Start>"
         "</Response>", "Parameter", "value"),
        ('<Response><Record maxLength="0"/></Response>', "Record", "maxLength"),
        ('<Response><Record playBeep="yes"/></Response>', "Record", "playBeep"),
        ("<Response>hello</Response>", "Response", "stray text"),
        ("<Twiml><Say>x</Say></Twiml>", "Twiml", "root"),
        ("<Response><Say>x</Response>", "Response", "well-formed"),
        ("<Response><Pay/></Response>", "Pay", "does not support"),
    ],
)
def test_rejected_twiml_names_the_verb(xml: str, verb: str, words: str) -> None:
    err = _err(xml)
    assert err.verb == verb
    assert words in str(err)
    assert f"<{verb}>" in str(err)


def test_valid_document_parses_with_nesting_and_defaults() -> None:
    verbs = parse(
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Start><Stream url="wss://h/media" track="inbound_track">'
        '<Parameter name="lang" value="cmn"/></Stream></Start>'
        '<Gather input="dtmf" numDigits="1" timeout="8" action="/voice/menu" method="post" '
        'actionOnEmptyResult="true" finishOnKey="">'
        '<Play>/audio/x.wav</Play><Say language="zh-CN">请按<break time="1s"/>零</Say>'
        '<Pause length="2"/></Gather>'
        '<Enqueue waitUrl="/voice/wait" action="/voice/queue-exit">hotline</Enqueue>'
        '<Dial><Client>agent1</Client></Dial>'
        "</Response>"
    )
    assert [v.name for v in verbs] == ["Start", "Gather", "Enqueue", "Dial"]
    gather = verbs[1]
    assert gather.get("method") == "POST"  # normalised
    assert [c.name for c in gather.children] == ["Play", "Say", "Pause"]
    assert gather.children[1].child_texts() == "请按 零"
    assert verbs[0].children[0].children[0].attrs == {"name": "lang", "value": "cmn"}


def test_non_strict_mode_tolerates_unknown_attributes() -> None:
    verbs = parse('<Response><Say colour="red">hi</Say></Response>', strict=False)
    assert verbs[0].text == "hi"
