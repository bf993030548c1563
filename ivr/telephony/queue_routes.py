"""The queue's Twilio routes: hold announcements, call-back choice, queue exit, bridge to the agent.

Twilio's own queue is FIFO only, so it just holds the audio (``<Enqueue waitUrl=/voice/wait
action=/voice/queue-exit>``); the order lives in Redis (``ivr.routing.queue``). An agent's accept
(``ivr.routing.dispatch``) picks a caller from Redis and dequeues THAT caller via REST to
``/voice/bridge?agent=ID``, answered here with a ``<Dial>`` of the agent's endpoint. The sentences
are config/menus.yaml ``phrases.queue``. Every route is signed and under one failsafe.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for
from twilio.twiml.voice_response import Gather, Stop, VoiceResponse

from ivr import metrics
from ivr.config.models import text_for
from ivr.routing import dispatch
from ivr.routing.agents_config import QueueRules
from ivr.routing.queue import CallQueue, QueueEntry
from ivr.services import Services, get_services
from ivr.speech.numbers import chinese_number
from ivr.speech.voices import queue_pieces
from ivr.telephony import twiml
from ivr.telephony.failsafe import install_failsafe
from ivr.telephony.webhook_auth import signed

log = logging.getLogger(__name__)

bp = Blueprint("queue", __name__)

DEFAULT_DIALECT, DEFAULT_MODE = "mandarin", "elder"
CALL_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}")
SAY_LANGUAGE = {"cantonese": "zh-HK"}  # everything else: zh-CN
MAX_ENQUEUE_RETRIES = 2
STALE_ASSIGNMENT_SECONDS = 20.0  # an "accepted" caller still polling wait was never dequeued
SPEECH_STREAM_NAME = "ivr-speech"  # the flow's <Start><Stream name=...>
NUMBER_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")

def text(name: str, dialect: str, svc: Services | None = None) -> str:
    """A queue sentence (config/menus.yaml ``phrases.queue``) in the caller's dialect."""
    phrases = (svc or get_services()).config.current.menus.phrases.queue
    return text_for(getattr(phrases, name), dialect)


def queue_rules(svc: Services | None = None) -> QueueRules:
    return (svc or get_services()).config.current.agents.queue


def session_voice(call_sid: str, svc: Services | None = None) -> tuple[str, str]:
    """(dialect, voice_mode) from the flow's call session; mandarin/elder when unknown."""
    dialect, mode = (svc or get_services()).sessions.voice_of(call_sid)
    return dialect or DEFAULT_DIALECT, mode or DEFAULT_MODE


def speak(target: VoiceResponse | Gather, parts: list[str], dialect: str, mode: str) -> None:
    """Pre-rendered audio from the voice catalog when there is one, else ``<Say>``."""
    voices = get_services().voices
    playables: Iterable[Any] | None = None
    if voices is not None:
        try:
            playables = voices.playables_for(parts, dialect, mode)
        except Exception:  # a voice problem must never cost the caller their prompt
            log.exception("voice catalog failed; falling back to <Say>")
    if playables is None:  # counts in words, as the rendered pieces say them
        playables = [twiml.Speech(None, chinese_number(int(p), counting=True) if p.isdigit()
                                  else p) for p in parts]
    playables = list(playables)
    if any(not getattr(p, "url", None) for p in playables) and len(playables) > 1:
        # a piece is not rendered yet: one <Say> of the whole, not audio and speech mixed
        playables = [twiml.Speech(None, "".join(p.text for p in playables))]
    twiml.play_or_say(target, playables, SAY_LANGUAGE.get(dialect, "zh-CN"))


def answer(resp: VoiceResponse) -> Response:
    """The TwiML answer of a queue route (``text/xml``, as Twilio's queue pages use)."""
    return Response(str(resp), mimetype="text/xml")


def add_enqueue(resp: VoiceResponse, svc: Services | None = None) -> None:
    """``<Enqueue>`` into the hotline queue with our wait and exit URLs."""
    svc = svc or get_services()
    twiml.add_enqueue(resp, svc.config.current.service.twilio.queue_name,
                      url_for("queue.wait"), url_for("queue.queue_exit"))


def _failsafe_answer() -> Response:
    """What each queue route answers when it fails (Redis down...): the caller keeps a human."""
    svc = get_services()
    if request.endpoint in ("queue.wait", "queue.callback_choice"):
        # still inside <Enqueue>: only wait verbs are allowed; keep holding, poll again soon
        interval = int(queue_rules(svc).hold_announcement_interval_seconds)
        resp = VoiceResponse()
        resp.say(text("waiting", DEFAULT_DIALECT), language="zh-CN")
        resp.pause(length=max(5, interval))
        return answer(resp)
    if request.endpoint == "queue.callback_status":
        return Response("", status=204)
    if request.endpoint == "queue.queue_exit" and request.form.get("QueueResult") in (
            "hangup", "bridged", "redirected", "bridging-in-process"):
        return answer(VoiceResponse())  # nobody is listening to this answer
    flow = svc.flow
    if flow is not None:
        return Response(flow.failsafe(), mimetype="text/xml")
    resp = VoiceResponse()
    resp.say(text("connecting", DEFAULT_DIALECT), language="zh-CN")
    dial = getattr(getattr(svc.config.current.service, "failsafe", None), "dial", None)
    if dial:
        resp.dial(dial)
    else:
        add_enqueue(resp, svc)
    return answer(resp)


install_failsafe(bp, _failsafe_answer)


def queue_time(raw: str | None) -> float | None:
    """Twilio's QueueTime; anything unparsable is treated as absent."""
    return float(raw) if raw and NUMBER_RE.fullmatch(raw) else None


# -- routes --
@bp.post("/voice/wait")
@signed
def wait() -> Response:
    """Enqueue waitUrl: position from OUR queue and an estimate, slowly; call-back offer."""
    svc = get_services()
    sid = request.form.get("CallSid", "")
    caller = request.form.get("From", "")
    rules = queue_rules(svc)
    q = svc.queue
    entry = _heal_entry(svc, q, sid, caller, rules)
    dialect, mode = session_voice(sid, svc)
    position = q.position(sid)
    resp = VoiceResponse()
    if position:
        minutes = svc.outcomes.estimate_wait(position, rules.average_handling_seconds)
        ahead = position - 1
        parts = (queue_pieces("ahead", dialect, ahead) if ahead else
                 queue_pieces("next", dialect))
        parts += queue_pieces("estimate", dialect, minutes) + [text("patience", dialect)]
    else:
        parts = [text("waiting", dialect)]
    speak(resp, parts, dialect, mode)
    waited = entry.waited() if entry else (queue_time(request.form.get("QueueTime")) or 0.0)
    if (entry is not None and entry.state == "waiting" and not entry.callback
            and waited >= rules.callback_offer_after_seconds
            and callback_verified(svc, sid, caller)):
        gather = Gather(input="dtmf", num_digits=1, timeout=8, method="POST",
                        action=url_for("queue.callback_choice"))
        speak(gather, [text("callback_offer", dialect)], dialect, mode)
        resp.append(gather)
    if rules.hold_music_url:
        resp.play(rules.hold_music_url)
    else:
        resp.pause(length=int(rules.hold_announcement_interval_seconds))
    return answer(resp)


def callback_verified(svc: Services, sid: str, number: str) -> bool:
    """Only numbers that passed caller verification are offered (and given) a call-back."""
    from ivr.routing.callback_policy import verified

    conf = getattr(svc.config.current.service, "callbacks", None)
    if conf is None:
        return False
    verstat = request.form.get("StirVerstat") or svc.sessions.verstat(sid)
    return verified(number, verstat, conf.verified_stir, conf.trusted_prefixes)


def callback_within_rate(svc: Services, number: str) -> bool:
    """At most ``callbacks.max_per_number`` requests per number per window (atomic count)."""
    from ivr.routing.caller_watch import caller_key

    conf = svc.config.current.service.callbacks
    key = f"ivr:{{callbacks}}:rate:{caller_key(number, svc.settings.secret_key)}"
    pipe = svc.redis.pipeline(transaction=True)
    pipe.set(key, 0, ex=conf.window_seconds, nx=True)
    pipe.incr(key)
    count = pipe.execute()[1]
    if count > conf.max_per_number:
        log.warning("call-back refused: %d requests from one number in %d s", count,
                    conf.window_seconds)
        return False
    return True


@bp.post("/voice/wait/callback")
@signed
def callback_choice() -> Response:
    """Gather action inside the wait music: 1 = keep my place and call me back."""
    svc = get_services()
    sid = request.form.get("CallSid", "")
    dialect, mode = session_voice(sid, svc)
    resp = VoiceResponse()
    to, from_ = request.form.get("From", ""), request.form.get("To", "")
    if (request.form.get("Digits") == "1" and callback_verified(svc, sid, to)
            and callback_within_rate(svc, to)
            and svc.queue.mark_callback(sid, to, from_)):
        metrics.CALLBACKS.labels("requested").inc()
        log.info("call %s chose a call-back; place kept", sid)
        speak(resp, [text("callback_ok", dialect)], dialect, mode)
        resp.leave()
    else:
        speak(resp, [text("keep_waiting", dialect)], dialect, mode)
    return answer(resp)


@bp.post("/voice/queue-exit")
@signed
def queue_exit() -> Response:
    """Enqueue action: the caller left Twilio's queue (bridged, hung up, left, error...)."""
    svc = get_services()
    sid = request.form.get("CallSid", "")
    result = request.form.get("QueueResult", "")
    q = svc.queue
    resp = VoiceResponse()
    if result == "hangup":
        dispatch.on_call_completed(svc, sid)
    elif result == "leave":
        entry = q.get(sid)
        if entry is None or not entry.callback:
            dispatch.abandon(svc, sid, "leave")
        resp.hangup()
    elif result in ("queue-full", "error", "system-error"):
        retries = svc.sessions.count_enqueue_retry(sid)
        log.warning("call %s left the Twilio queue with %s (retry %d)", sid, result, retries)
        if retries <= MAX_ENQUEUE_RETRIES and q.get(sid) is not None:
            add_enqueue(resp, svc)
        else:
            dispatch.abandon(svc, sid, result)
            dialect, mode = session_voice(sid, svc)
            speak(resp, [text("sorry", dialect)], dialect, mode)
            failsafe = getattr(svc.config.current.service, "failsafe", None)
            if failsafe is not None and getattr(failsafe, "dial", None):
                resp.dial(failsafe.dial)
            else:
                resp.hangup()
    # bridged / bridging-in-process / redirected: the bridge or the redirect owns the call now
    return answer(resp)


def _heal_entry(svc: Services, q: CallQueue, sid: str, caller: str,
                rules: QueueRules) -> QueueEntry | None:
    """The caller is in Twilio's queue right now (this is their wait poll), so agents must be
    able to reach them: re-create a missing entry, requeue an acceptance whose dequeue never
    reached them, and note the poll (the reconciler closes entries whose polls stopped)."""
    entry = q.get(sid)
    flow = svc.flow
    if entry is None and flow is not None and CALL_SID_RE.fullmatch(sid):
        flow.ensure_queued(sid, caller)
        entry = q.get(sid)
    if (entry is not None and entry.state == "assigned" and entry.accepted_at is not None
            and time.time() - entry.accepted_at > STALE_ASSIGNMENT_SECONDS
            and entry.status in ("accepted", "dequeued")):
        log.warning("call %s accepted by %s %.0f s ago but still waiting; requeued", sid,
                    entry.agent, time.time() - entry.accepted_at)
        q.requeue(sid)
        entry = q.get(sid)
    if entry is not None:
        q.annotate(sid, polled_at=repr(time.time()))
    return entry


@bp.post("/voice/bridge")
@signed
def bridge() -> Response:
    """Dequeue target (or call-back answer URL): ``<Dial>`` the agent who accepted."""
    svc = get_services()
    agent = svc.config.current.agents.agent(request.args.get("agent", ""))
    caller_sid = request.args.get("entry") or request.form.get("CallSid", "")
    is_callback = "entry" in request.args
    dialect, mode = session_voice(caller_sid, svc)
    q = svc.queue
    resp = VoiceResponse()
    if agent is None:  # config changed under us: back to the caller's old place
        log.error("bridge for unknown agent %r; requeueing %s", request.args.get("agent"),
                  caller_sid)
        return answer(_back_to_old_place(svc, resp, caller_sid, is_callback))
    entry = q.get(caller_sid)
    priority = entry.priority if entry else "normal"
    if entry is not None and entry.state == "waiting" and not is_callback:
        # put back after an ambiguous REST timeout, yet Twilio did dequeue them: they are with
        # this agent now, so no other agent may try to take them too
        log.warning("caller %s reached the bridge while queued again; taken off the queue",
                    caller_sid)
        q.remove(caller_sid)
    q.annotate(caller_sid, status="connecting")
    svc.outcomes.answered(caller_sid, agent.id, priority)
    if not is_callback and dispatch.mark_bridged(svc, caller_sid):
        # the agent talks to the caller now: no more listening for menu words or scam phrases
        stop = Stop()
        stop.stream(name=SPEECH_STREAM_NAME)
        resp.append(stop)
    speak(resp, [text("callback_greeting" if is_callback else "connecting", dialect)],
          dialect, mode)
    params = {"agent": agent.id, **({"entry": caller_sid} if is_callback else {})}
    dial = resp.dial(action=url_for("queue.bridge_done") + "?" + urlencode(params),
                     method="POST", timeout=30)
    if agent.endpoint_kind == "client":
        dial.client(agent.endpoint_target)
    else:
        dial.number(agent.endpoint_target)
    return answer(resp)


@bp.post("/voice/bridge-done")
@signed
def bridge_done() -> Response:
    """Dial action: if the agent did not answer, the caller goes back to their old place."""
    svc = get_services()
    caller_sid = request.args.get("entry") or request.form.get("CallSid", "")
    is_callback = "entry" in request.args
    status = request.form.get("DialCallStatus", "")
    q = svc.queue
    resp = VoiceResponse()
    if status in ("completed", "answered"):
        q.annotate(caller_sid, status="ended", ended_at=repr(time.time()))
        resp.hangup()
        return answer(resp)
    log.warning("agent %s did not answer %s (%s); requeueing", request.args.get("agent"),
                caller_sid, status)
    return answer(_back_to_old_place(svc, resp, caller_sid, is_callback))


def _back_to_old_place(svc: Services, resp: VoiceResponse, caller_sid: str,
                       is_callback: bool) -> VoiceResponse:
    """No agent after all: the caller keeps their place (a call-back is tried again later)."""
    svc.queue.requeue(caller_sid)
    dispatch.mark_bridged(svc, caller_sid, with_agent=False)
    dialect, mode = session_voice(caller_sid, svc)
    if is_callback:
        speak(resp, [text("callback_later", dialect)], dialect, mode)
        resp.hangup()
    else:
        speak(resp, [text("agent_missed", dialect)], dialect, mode)
        add_enqueue(resp, svc)
    return resp


@bp.post("/voice/callback-status")
@signed
def callback_status() -> Response:
    """Status callback of a call-back call: a caller who did not pick up is recorded."""
    caller_sid = request.args.get("entry", "")
    status = request.form.get("CallStatus", "")
    if status in ("busy", "no-answer", "failed", "canceled"):
        metrics.CALLBACKS.labels("failed").inc()
        q = get_services().queue
        entry = q.get(caller_sid)
        q.annotate(caller_sid, status="callback_failed")
        get_services().outcomes.abandoned(caller_sid, entry.waited() if entry else 0.0,
                             reason=f"callback_{status}")
    return Response("", status=204)


