"""The one TwiML builder: the flow's menus and transfers and the queue's hold prompts alike.

Built with twilio's VoiceResponse (never by formatting XML). A sentence is pre-rendered audio
(``<Play>``) when the voice catalog has it, else ``<Say>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, Start, VoiceResponse

SAY_LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class Speech:
    """One sentence: a URL of pre-rendered audio, or None to fall back to <Say>."""

    url: str | None
    text: str


# (text) -> Speech; supplied by the I/O layer from the voice catalog of the caller's dialect/mode
Voice = Callable[[str], Speech]


@dataclass(frozen=True)
class StreamSpec:
    """A unidirectional Media Stream of the caller's audio for the rest of the call."""

    url: str
    parameters: dict[str, str]
    name: str | None = None  # lets a later <Stop><Stream name=...> end it (caller bridged)


def say_all(parent: VoiceResponse | Gather, sentences: Iterable[str], voice: Voice) -> None:
    play_or_say(parent, (voice(text) for text in sentences))


def play_or_say(parent: VoiceResponse | Gather, pieces: Iterable[Speech],
                language: str = SAY_LANGUAGE) -> None:
    """``<Play>`` each piece that has audio, ``<Say>`` the others in ``language``."""
    for piece in pieces:
        if piece.url:
            parent.play(piece.url)
        else:
            parent.say(piece.text, language=language)


def _start_stream(resp: VoiceResponse, stream: StreamSpec | None) -> None:
    if stream is None:
        return
    start = Start()
    extra = {"name": stream.name} if stream.name else {}
    st = start.stream(url=stream.url, track="inbound_track", **extra)
    for name, value in stream.parameters.items():
        st.parameter(name=name, value=value)
    resp.append(start)


def menu(sentences: Iterable[str], voice: Voice, action: str, timeout: int,
         stream: StreamSpec | None = None) -> str:
    """Prompt inside a one-key Gather; an empty result still posts to ``action`` (silence)."""
    resp = VoiceResponse()
    _start_stream(resp, stream)
    gather = Gather(input="dtmf", num_digits=1, timeout=timeout, action=action, method="POST",
                    action_on_empty_result=True, finish_on_key="")
    say_all(gather, sentences, voice)
    resp.append(gather)
    # Reached only if a client ignores actionOnEmptyResult: treat as silence, never hang up.
    resp.redirect(action, method="POST")
    return str(resp)


def enqueue(sentences: Iterable[str], voice: Voice, queue_name: str, wait_url: str | None,
            action: str | None, stream: StreamSpec | None = None) -> str:
    """Say the transfer sentence and hold the caller in Twilio's queue for an agent."""
    resp = VoiceResponse()
    _start_stream(resp, stream)
    say_all(resp, sentences, voice)
    add_enqueue(resp, queue_name, wait_url, action)
    return str(resp)


def add_enqueue(resp: VoiceResponse, queue_name: str, wait_url: str | None,
                action: str | None) -> None:
    """``<Enqueue>`` with our wait and exit URLs (POST), so Redis hears of every held caller."""
    kwargs = {}
    if wait_url:
        kwargs.update(wait_url=wait_url, wait_url_method="POST")
    if action:
        kwargs.update(action=action, method="POST")
    resp.enqueue(queue_name, **kwargs)


def goodbye(sentences: Iterable[str], voice: Voice) -> str:
    resp = VoiceResponse()
    say_all(resp, sentences, voice)
    resp.hangup()
    return str(resp)


def failsafe(sentence: str, queue_name: str, dial: str | None, wait_url: str | None = None,
             action: str | None = None) -> str:
    """Needs nothing but memory: no Redis, no audio cache. Always ends with a human.

    ``dial`` (a staffed number) is the production setting. Otherwise the caller joins Twilio's
    queue WITH our wait and exit URLs, so the wait poll registers them for the agents once Redis
    is back (a bare ``<Enqueue>`` would hold them where no agent can reach them).
    """
    resp = VoiceResponse()
    resp.say(sentence, language=SAY_LANGUAGE)
    if dial:
        resp.dial(dial)
        return str(resp)
    add_enqueue(resp, queue_name, wait_url, action)
    return str(resp)


def hold(sentence: str, seconds: int) -> str:
    """A waitUrl document that needs nothing but memory: a sentence, then hold."""
    resp = VoiceResponse()
    resp.say(sentence, language=SAY_LANGUAGE)
    resp.pause(length=max(1, int(seconds)))
    return str(resp)
