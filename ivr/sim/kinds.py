"""Kinds of caller, as a new caller behaves: they react to what they hear, not to a timetable.

Each kind listens to the prompts the stand-in plays (a ``<Play>`` URL is mapped back to its text
through the voice catalog) and acts a reaction time after the sentence that tells them what to do
ends: "press 0 at the first chance" presses 0 one second after the human option was said, wherever
in the menu that is. Used by ``bench/seconds_to_human.py`` and the end-to-end tests, so the figure
printed and the figure asserted are the same measurement.

Speech: no Chinese Vosk model is available here, so spoken kinds hand their words to the service's
speech sink (``SpeechActions.on_speech``, what the recogniser calls) when the utterance would have
ended plus an endpoint delay; matching, scam scoring and the REST redirect are the real ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ivr.sim.call import CallResult, SimCall
from ivr.sim.caller import Caller, Opportunity
from ivr.sim.clock import Event

REACTION_S = 1.0  # a caller acts this long after the sentence that told them how
SPEECH_CHARS_PER_S = 3.5  # an elderly caller's speaking rate
ENDPOINT_S = 0.6  # silence before the recogniser closes an utterance
PROMPT_KINDS = ("play", "say")


@dataclass(frozen=True)
class Kind:
    """One kind of caller: who they are and what they do."""

    name: str
    number: str
    on_hear: tuple[tuple[str, str], ...] = ()  # (marker in a prompt, key pressed after it)
    after_menu: str | None = None  # key pressed after every menu's prompts (None: nothing)
    say: str | None = None  # words spoken after the human option (or during the menu)
    say_restricted: bool = True  # a menu answer (True) or free speech (a story)
    callback: bool = False  # presses 1 when offered a call-back in the queue
    stay_in_queue: float = 3.0  # seconds in the queue before hanging up
    to: str | None = None  # the number dialled (None: the hotline)


@dataclass
class Row:
    kind: str
    to_enqueue: float | None
    heard: float
    keys: str
    reason: str | None
    dialect: str | None
    elder: bool | None
    note: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


class ListeningCaller(Caller):
    """Acts on what it hears; see the module docstring."""

    def __init__(self, kind: Kind, text_of: Callable[[str], str],
                 speak: Callable[[str, str, bool], None] | None = None):
        self.kind = kind
        self.number = kind.number
        self.text_of = text_of
        self.speak = speak
        self.fired: set[str] = set()
        self.spoken = False

    # -- hearing ----------------------------------------------------------------------------
    def on_start(self, call: SimCall) -> None:
        call.schedule_hangup(900)
        previous = call.log.listener

        def listen(ev: Event) -> None:
            if previous is not None:
                previous(ev)
            if ev.kind in PROMPT_KINDS and call.enqueued_at is None:
                self._heard(call, ev)

        call.log.listener = listen

    def _heard(self, call: SimCall, ev: Event) -> None:
        what = ev.detail.get("text") or self.text_of(ev.detail.get("url", ""))
        ends = ev.t + float(ev.detail.get("seconds", 0.0))
        for marker, key in self.kind.on_hear:
            if marker in what and marker not in self.fired:
                self.fired.add(marker)
                call.schedule_digit(key, ends + REACTION_S)
                return
        if self.kind.say and not self.spoken and _is_human_option(what):
            self.spoken = True
            self._say(call, ends + REACTION_S)

    def _say(self, call: SimCall, start: float) -> None:
        words = self.kind.say or ""
        due = start + len(words) / SPEECH_CHARS_PER_S + ENDPOINT_S
        call.log.add("caller_says", text=words, start=round(start, 2), heard_at=round(due, 2))

        def run() -> None:
            while call.clock.now() < due and not call.done.is_set():
                time.sleep(0.0005)
            if not call.done.is_set() and self.speak is not None:
                self.speak(call.sid, words, self.kind.say_restricted)

        threading.Thread(target=run, daemon=True).start()

    # -- acting -----------------------------------------------------------------------------
    def on_opportunity(self, call: SimCall, opp: Opportunity) -> None:
        if opp.kind == "enqueue":
            stay = 400.0 if self.kind.callback else self.kind.stay_in_queue
            call.schedule_hangup(opp.start + stay)
            return
        if opp.kind != "gather":
            return
        ends = opp.start + opp.prompt_seconds
        if call.enqueued_at is not None:  # a Gather while holding: the call-back offer
            if self.kind.callback:
                call.schedule_digit("1", ends + REACTION_S)
            return
        if self.kind.after_menu:
            call.schedule_digit(self.kind.after_menu, ends + REACTION_S)


def _is_human_option(text: str) -> bool:
    return "人工" in text and "按" in text


def kinds(known_elder: str, elder_key: str = "9", human_key: str = "0") -> list[Kind]:
    """The caller kinds of issue 15, in table order."""
    human = f"按{human_key}"
    return [
        Kind("known elder", known_elder),
        Kind("unknown elder presses 9", "+8613911110001", on_hear=((f"按{elder_key}", elder_key),)),
        Kind("press 0 at first chance", "+8613911110002", on_hear=((human, human_key),)),
        Kind("press 0 after whole menu", "+8613911110003", after_menu=human_key),
        Kind("says 人工", "+8613911110004", say="我要人工"),
        Kind("silent", "+8613911110005"),
        Kind("wrong keys", "+8613911110006", after_menu="5"),
        Kind("Cantonese by prefix, 0", "+85291110007", on_hear=((human, human_key),)),
        Kind("scam story in the menu", "+8613911110008",
             say="他说我的账户涉嫌洗钱，要我把钱转到安全账户", say_restricted=False),
        Kind("call-back taken", "+8613911110009", on_hear=((human, human_key),), callback=True),
    ]


def elder_line_kind(line: str) -> Kind:
    """A caller on the elder line who presses nothing (an unknown number)."""
    return Kind("silent on the elder line", "+8613911110010", to=line)


def prompt_seconds_heard(events: list[dict[str, Any]], until: float | None) -> float:
    """Seconds of prompt audio the caller actually heard before ``until`` (barge-in cuts a
    prompt short: it ends at the next thing that happened)."""
    limit = until if until is not None else float("inf")
    total = 0.0
    for i, ev in enumerate(events):
        if ev["kind"] not in PROMPT_KINDS or ev["t"] >= limit:
            continue
        end = min(ev["t"] + ev["seconds"], limit)
        for later in events[i + 1:]:
            if later["t"] > ev["t"] and later["kind"] not in ("caller_step", "caller_says"):
                end = min(end, later["t"])
                break
        total += max(0.0, end - ev["t"])
    return total


SPEECH_SPEED = 4.0  # virtual s per real s for spoken kinds: the REST redirect is real time


def measure(sim: Any, kind: Kind, text_of: Callable[[str], str],
            speak: Callable[[str, str, bool], None] | None,
            session: Callable[[str], Any] | None = None) -> Row:
    """Place one call of ``kind`` and measure it. A spoken kind runs closer to real time: the
    service's REST redirect takes real milliseconds, which a fast clock would stretch."""
    speed = sim.config.speed
    if kind.say:
        sim.config.speed = min(speed, SPEECH_SPEED)
    try:
        result: CallResult = sim.place_call(ListeningCaller(kind, text_of, speak), to=kind.to)
    finally:
        sim.config.speed = speed
    ev = result.events
    keys = "".join(e["digit"] for e in ev if e["kind"] == "dtmf")
    state = session(result.call_sid) if session else None
    note = ""
    if kind.callback:
        left = next((e for e in ev if e["kind"] == "left_queue"), None)
        note = (f"call-back kept at {left['t']:.1f} s" if left and left["result"] == "leave"
                else "no call-back")
    if result.errors:
        note = (note + " errors: " + "; ".join(result.errors))[:200]
    return Row(kind.name, result.enqueued_at, prompt_seconds_heard(ev, result.enqueued_at), keys,
               getattr(state, "transfer_reason", None), getattr(state, "dialect", None),
               getattr(state, "elder", None), note, ev)


def url_texts(voices: Any, items: list[tuple[str, str]], modes: tuple[str, ...]) -> dict[str, str]:
    """``/audio/<name>`` path -> the sentence it says, for every (text, dialect) and mode."""
    out: dict[str, str] = {}
    for text, dialect in items:
        for mode in modes:
            out["/audio/" + voices.name_for(text, dialect, mode)] = text
    return out


def text_lookup(table: dict[str, str]) -> Callable[[str], str]:
    def text_of(url: str) -> str:
        return table.get(urlsplit(url).path, url)

    return text_of
