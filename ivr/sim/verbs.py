"""The TwiML verbs a caller lives through: prompts, input, streams (queue and dial elsewhere).

Semantics follow Twilio's reference: Gather posts Digits to ``action`` (default: the current
document) and falls through to the next verb on no input unless ``actionOnEmptyResult``; a key
pressed during the nested prompts cuts them short (barge-in); Redirect and actions resolve
relative URLs against the current document URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from requests import RequestException

from ivr.sim import queue_verbs
from ivr.sim.audio import BadAudio, audio_duration, espeak_render
from ivr.sim.clock import say_seconds
from ivr.sim.control import CallEnded, LeaveQueue, Transfer
from ivr.sim.twiml import Node, TwiMLError
from ivr.sim.webhook import resolve

if TYPE_CHECKING:
    from ivr.sim.call import SimCall

PLAY_LOOP_CAP = 1000  # loop="0" means "until something else happens"
DTMF_TONE_SECONDS = 0.1
DTMF_WAIT_SECONDS = 0.5  # 'w' in Play digits


def run_verb(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    handler = _HANDLERS.get(node.name)
    if handler is None:
        raise TwiMLError(node.name, "is not a verb this simulator can run here")
    handler(call, node, doc_url, in_queue)


# --- prompts ------------------------------------------------------------------------------------

def prompt_seconds(call: SimCall, node: Node, doc_url: str) -> float:
    """How long one Say/Play/Pause lasts (one loop), without playing it."""
    if node.name == "Pause":
        return float(node.get("length", "1"))
    if node.name == "Say":
        text = node.child_texts()
        if call.config.say_audio:
            return espeak_render(text, node.get("language"))[1]
        return say_seconds(text, call.config.chars_per_minute)
    return play_seconds(call, node, doc_url)


def play_seconds(call: SimCall, node: Node, doc_url: str) -> float:
    digits = node.get("digits")
    if digits and not node.text:
        waits = digits.lower().count("w")
        return waits * DTMF_WAIT_SECONDS + (len(digits) - waits) * DTMF_TONE_SECONDS
    url = resolve(doc_url, node.text)
    cached = call.sim.audio_cache.get(url)
    if cached is not None:
        return cached
    try:
        reply = call.hooks.fetch(url)
    except RequestException as exc:
        # The audio host did not answer (e.g. a worker died mid-request), like Twilio's 11200:
        # with a Fallback URL the call continues there; a queued caller keeps waiting (the
        # sentence is skipped); otherwise the call ends with an application error.
        if call.queue is not None:
            call.error(f"<Play> cannot fetch {url}: {exc}; skipped while queued")
            return 0.0
        fallback = call.config.fallback_url
        if fallback:
            call.error(f"<Play> cannot fetch {url}: {exc}; Fallback URL")
            call.log.add("fallback", url=fallback, failed=url)
            raise Transfer(fallback, "POST", {"ErrorCode": "11200", "ErrorUrl": url}) from exc
        raise TwiMLError("Play", f"cannot fetch {url}: {exc}") from exc
    if reply.status != 200:
        raise TwiMLError("Play", f"HTTP {reply.status} fetching {url}")
    try:
        seconds = audio_duration(reply.body, reply.content_type)
    except BadAudio as exc:
        raise TwiMLError("Play", f"{url} is not playable audio: {exc}") from exc
    call.sim.audio_cache[url] = seconds
    return seconds


def play_prompt(call: SimCall, node: Node, doc_url: str, digits: bool = False) -> str | None:
    """Play one Say/Play/Pause (with its loop); returns a barge-in digit when ``digits``."""
    seconds = prompt_seconds(call, node, doc_url)
    loops = int(node.get("loop", "1"))
    loops = PLAY_LOOP_CAP if loops == 0 else loops
    if node.name == "Say":
        what = node.child_texts()
        call.log.add("say", text=what, seconds=round(seconds, 3), loop=loops,
                     language=node.get("language"))
    elif node.name == "Play":
        what = resolve(doc_url, node.text) if node.text else f"digits:{node.get('digits')}"
        call.log.add("play", url=what, seconds=round(seconds, 3), loop=loops)
    else:
        what = ""
        call.log.add("pause", seconds=seconds)
    for _ in range(loops):
        if what:
            call.hear(what)
        pressed = call.sleep(seconds, digits=digits)
        if pressed is not None:
            return pressed
    return None


def _prompt(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    play_prompt(call, node, doc_url)


# --- input --------------------------------------------------------------------------------------

def _gather(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    timeout = float(node.get("timeout", "5"))
    finish = node.get("finishOnKey", "#")
    num = int(node.attrs["numDigits"]) if "numDigits" in node.attrs else None
    dtmf = "dtmf" in node.get("input", "dtmf").split()
    total = sum(prompt_seconds(call, c, doc_url) * max(1, int(c.get("loop", "1")))
                for c in node.children)
    call.log.add("gather", timeout=timeout, finish_on_key=finish, num_digits=num,
                 prompts=round(total, 3), input=node.get("input", "dtmf"))
    call.offer("gather", total, timeout=timeout, num_digits=num, finish_on_key=finish)
    collected, key = "", ""
    first = None
    for child in node.children:
        first = play_prompt(call, child, doc_url, digits=dtmf)
        if first is not None:
            break
    pending = first
    while True:
        digit = pending if pending is not None else call.sleep(timeout, digits=dtmf)
        pending = None
        if digit is None:
            break
        if finish and digit == finish:
            key = digit
            break
        collected += digit
        if num is not None and len(collected) >= num:
            break
    method = node.get("method", "POST")
    action = resolve(doc_url, node.get("action") or doc_url)
    if collected:
        call.log.add("gather_input", digits=collected, finished_on_key=key)
        raise Transfer(action, method, {"Digits": collected, "FinishedOnKey": key,
                                        "msg": "Gather End"})
    call.log.add("gather_empty", action_on_empty=node.get("actionOnEmptyResult") == "true")
    if node.get("actionOnEmptyResult") == "true":
        raise Transfer(action, method, {"Digits": "", "FinishedOnKey": key,
                                        "msg": "Gather End"})


def _record(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    timeout = float(node.get("timeout", "5"))
    max_len = float(node.get("maxLength", "3600"))
    finish = node.get("finishOnKey", "1234567890*#")
    if node.get("playBeep", "true") == "true":
        call.log.add("beep")
        call.sleep(0.5)
    start = call.clock.now()
    call.log.add("record", timeout=timeout, max_length=max_len)
    call.offer("record")
    key = ""
    while True:
        now = call.clock.now()
        spoke_end = call.audio.last_end_after(start)
        silence_deadline = max(start, spoke_end) + timeout if timeout > 0 else start + max_len
        deadline = min(start + max_len, silence_deadline)
        if now >= deadline:
            break
        digit = call.sleep(deadline - now, digits=True)
        if digit is not None and digit in finish:
            key = digit
            break
    spoken = call.audio.seconds_between(start, call.clock.now())
    if spoken <= 0:
        call.log.add("record_empty")
        return
    rec_sid, rec_url = call.sim.store_recording(call, start, call.clock.now())
    call.log.add("recorded", seconds=round(spoken, 3), url=rec_url)
    action = resolve(doc_url, node.get("action") or doc_url)
    raise Transfer(action, node.get("method", "POST"), {
        "RecordingUrl": rec_url, "RecordingSid": rec_sid,
        "RecordingDuration": int(round(spoken)), "Digits": key or "hangup",
    })


# --- call control -------------------------------------------------------------------------------

def _redirect(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    url = resolve(doc_url, node.text)
    call.log.add("redirect", url=url)
    raise Transfer(url, node.get("method", "POST"))


def _hangup(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    call.log.add("app_hangup")
    raise CallEnded("app_hangup")


def _reject(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    reason = node.get("reason", "rejected")
    if call.answered:
        call.error("<Reject> after the call was answered acts as <Hangup>")
        raise CallEnded("app_hangup")
    call.log.add("rejected", reason=reason)
    raise CallEnded("rejected", "busy" if reason == "busy" else "no-answer")


def _leave(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    if in_queue:
        call.log.add("leave")
        raise LeaveQueue()
    call.log.add("leave_ignored", reason="not in a queue")


# --- media streams ------------------------------------------------------------------------------

def _start(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    noun = node.children[0]
    if noun.name != "Stream":
        raise TwiMLError(noun.name, "is a Twilio noun this simulator does not support")
    call.sim.open_stream(call, noun, doc_url, bidirectional=False)
    if node.get("action"):
        raise Transfer(resolve(doc_url, node.get("action")), node.get("method", "POST"))


def _stop(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    for noun in node.children:
        key = noun.get("name") or noun.get("url")
        for s in list(call.streams):
            if key in (s.name, s.url, s.stream_sid):
                s.stop()
                call.streams.remove(s)


def _connect(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    stream = call.sim.open_stream(call, node.children[0], doc_url, bidirectional=True)
    call.offer("connect")
    try:
        while not stream.closed.is_set():
            call.sleep(0.2)
    finally:
        if stream in call.streams:
            stream.stop()
            call.streams.remove(stream)
    if node.get("action"):
        raise Transfer(resolve(doc_url, node.get("action")), node.get("method", "POST"))


_HANDLERS = {
    "Say": _prompt, "Play": _prompt, "Pause": _prompt, "Gather": _gather, "Record": _record,
    "Redirect": _redirect, "Hangup": _hangup, "Reject": _reject, "Leave": _leave,
    "Start": _start, "Stop": _stop, "Connect": _connect,
    "Enqueue": queue_verbs.enqueue, "Dial": queue_verbs.dial,
}
