"""Twilio-facing side of the queue: hold announcements, call-back, bridge to the agent.

Twilio's own queue is FIFO only, so it just holds the audio (``<Enqueue waitUrl=/voice/wait
action=/voice/queue-exit>``); the order lives in Redis (``ivr.routing.queue``). An agent's accept
picks a caller from Redis, then dequeues THAT caller via REST to ``/voice/bridge?agent=ID``, which
``<Dial>``s the agent's endpoint. A call-back entry is called back with REST instead.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Gather, Stop, VoiceResponse

from ivr import metrics
from ivr.routing.agents_config import Agent, AgentsConfig, QueueRules
from ivr.routing.outcomes import Outcomes
from ivr.routing.queue import CallQueue, QueueEntry
from ivr.services import Services, get_services
from ivr.speech.numbers import chinese_number
from ivr.speech.voices import queue_pieces
from ivr.telephony.failsafe import install_failsafe
from ivr.telephony.rest import ENDED_STATUSES, classify
from ivr.telephony.webhook_auth import signed

log = logging.getLogger(__name__)

bp = Blueprint("holding", __name__)

DEFAULT_DIALECT, DEFAULT_MODE = "mandarin", "elder"
CALL_SID_RE = re.compile(r"CA[0-9a-fA-F]{32}")
SAY_LANGUAGE = {"cantonese": "zh-HK"}  # everything else: zh-CN
MAX_ENQUEUE_RETRIES = 2
NOT_QUEUED_RETRY_SECONDS = 3.0  # a 404 while the caller still hears the transfer sentence
NOT_QUEUED_RETRY_PAUSE = 0.5
STALE_ASSIGNMENT_SECONDS = 20.0  # an "accepted" caller still polling wait was never dequeued
SPEECH_STREAM_NAME = "ivr-speech"  # the flow's <Start><Stream name=...>
NUMBER_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")

# Sentences per dialect (Mandarin is the fallback; Sichuanese callers read Mandarin text fine).
# Position and wait estimate are built from pre-rendered pieces (ivr.speech.voices.QUEUE_PIECES).
TEXT: dict[str, dict[str, str]] = {
    "patience": {
        "mandarin": "请不要挂机，工作人员会尽快为您服务。",
        "cantonese": "请唔好收线，职员会尽快为你服务。",
    },
    "waiting": {
        "mandarin": "请稍候，工作人员会尽快为您服务。",
        "cantonese": "请稍等，职员会尽快为你服务。",
    },
    "callback_offer": {
        "mandarin": "按1保留排队位置，稍后给您回电。",
        "cantonese": "按1保留排队位置，稍后回电畀你。",
    },
    "callback_ok": {
        "mandarin": "好的，已为您保留排队位置，轮到您时我们会给您回电。再见。",
        "cantonese": "好，已经为你保留排队位置，轮到你嘅时候我哋会回电畀你。再见。",
    },
    "keep_waiting": {"mandarin": "好的，请继续等待。", "cantonese": "好，请继续等。"},
    "connecting": {
        "mandarin": "正在为您接通人工服务，请稍候。",
        "cantonese": "而家为你接通人工服务，请稍等。",
    },
    "callback_greeting": {
        "mandarin": "您好，这里是客服热线，给您回电。正在为您接通工作人员，请稍候。",
        "cantonese": "你好，呢度系客服热线，而家回电畀你，为你接通职员，请稍等。",
    },
    "agent_missed": {
        "mandarin": "工作人员暂时未能接听，已为您保留原来的排队位置。",
        "cantonese": "职员暂时未能接听，已经为你保留原来嘅排队位置。",
    },
    "callback_later": {
        "mandarin": "工作人员暂时未能接听，我们稍后再给您回电。再见。",
        "cantonese": "职员暂时未能接听，我哋稍后再回电畀你。再见。",
    },
    "sorry": {
        "mandarin": "抱歉，系统繁忙，请稍后再拨。",
        "cantonese": "对唔住，系统繁忙，请稍后再打嚟。",
    },
}


def text(name: str, dialect: str, **fmt: Any) -> str:
    table = TEXT[name]
    return table.get(dialect, table["mandarin"]).format(**fmt)


# -- services this module needs (created lazily if create_app did not attach them) --
def agents_config(svc: Services | None = None) -> AgentsConfig:
    return (svc or get_services()).config.current.agents


def queue_rules(svc: Services | None = None) -> QueueRules:
    return agents_config(svc).queue


def call_queue(svc: Services | None = None) -> CallQueue:
    """The process's CallQueue (built once by create_app), its rules following config reloads."""
    return (svc or get_services()).queue


def outcomes(svc: Services | None = None) -> Outcomes:
    return (svc or get_services()).outcomes


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
        playables = [_Text(chinese_number(int(p), counting=True) if p.isdigit() else p)
                     for p in parts]
    playables = list(playables)
    if any(not getattr(p, "url", None) for p in playables) and len(playables) > 1:
        # a piece is not rendered yet: one <Say> of the whole, not audio and speech mixed
        playables = [_Text("".join(p.text for p in playables))]
    language = SAY_LANGUAGE.get(dialect, "zh-CN")
    for p in playables:
        if getattr(p, "url", None):
            target.play(p.url)
        else:
            target.say(p.text, language=language)


class _Text:
    url = None

    def __init__(self, value: str):
        self.text = value


def twiml(resp: VoiceResponse) -> Response:
    return Response(str(resp), mimetype="text/xml")


def public_base(svc: Services | None = None) -> str:
    """Absolute base URL Twilio reaches us at: the configured public URL, never this request's
    Host (a forged Host must not choose where a caller is sent)."""
    return (svc or get_services()).public_url()


def add_enqueue(resp: VoiceResponse, svc: Services | None = None) -> None:
    """``<Enqueue>`` into the hotline queue with our wait and exit URLs (also for the flow)."""
    svc = svc or get_services()
    resp.enqueue(
        svc.config.current.service.twilio.queue_name,
        wait_url=url_for("holding.wait"), wait_url_method="POST",
        action=url_for("holding.queue_exit"), method="POST",
    )


def _failsafe_answer() -> Response:
    """What each queue route answers when it fails (Redis down...): the caller keeps a human."""
    svc = get_services()
    if request.endpoint in ("holding.wait", "holding.callback_choice"):
        # still inside <Enqueue>: only wait verbs are allowed; keep holding, poll again soon
        interval = int(queue_rules(svc).hold_announcement_interval_seconds)
        resp = VoiceResponse()
        resp.say(text("waiting", DEFAULT_DIALECT), language="zh-CN")
        resp.pause(length=max(5, interval))
        return twiml(resp)
    if request.endpoint == "holding.callback_status":
        return Response("", status=204)
    if request.endpoint == "holding.queue_exit" and request.form.get("QueueResult") in (
            "hangup", "bridged", "redirected", "bridging-in-process"):
        return twiml(VoiceResponse())  # nobody is listening to this answer
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
    return twiml(resp)


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
    q = call_queue(svc)
    entry = _heal_entry(svc, q, sid, caller, rules)
    dialect, mode = session_voice(sid, svc)
    position = q.position(sid)
    resp = VoiceResponse()
    if position:
        minutes = outcomes(svc).estimate_wait(position, rules.average_handling_seconds)
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
                        action=url_for("holding.callback_choice"))
        speak(gather, [text("callback_offer", dialect)], dialect, mode)
        resp.append(gather)
    if rules.hold_music_url:
        resp.play(rules.hold_music_url)
    else:
        resp.pause(length=int(rules.hold_announcement_interval_seconds))
    return twiml(resp)


VERSTAT_KEY = "ivr:{{call:{sid}}}:verstat"


def remember_verstat(svc: Services, sid: str, verstat: str, ttl: int) -> None:
    """/voice/incoming: keep the call's StirVerstat for the call-back decision later."""
    svc.redis.set(VERSTAT_KEY.format(sid=sid), verstat[:64], ex=max(60, ttl))


def callback_verified(svc: Services, sid: str, number: str) -> bool:
    """Only numbers that passed caller verification are offered (and given) a call-back."""
    from ivr.routing.callback_policy import verified

    conf = getattr(svc.config.current.service, "callbacks", None)
    if conf is None:
        return False
    verstat = request.form.get("StirVerstat") or svc.redis.get(VERSTAT_KEY.format(sid=sid))
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
            and call_queue(svc).mark_callback(sid, to, from_)):
        metrics.CALLBACKS.labels("requested").inc()
        log.info("call %s chose a call-back; place kept", sid)
        speak(resp, [text("callback_ok", dialect)], dialect, mode)
        resp.leave()
    else:
        speak(resp, [text("keep_waiting", dialect)], dialect, mode)
    return twiml(resp)


@bp.post("/voice/queue-exit")
@signed
def queue_exit() -> Response:
    """Enqueue action: the caller left Twilio's queue (bridged, hung up, left, error...)."""
    svc = get_services()
    sid = request.form.get("CallSid", "")
    result = request.form.get("QueueResult", "")
    q = call_queue(svc)
    resp = VoiceResponse()
    if result == "hangup":
        on_call_completed(sid)
    elif result == "leave":
        entry = q.get(sid)
        if entry is None or not entry.callback:
            _abandon(q, sid, "leave")
        resp.hangup()
    elif result in ("queue-full", "error", "system-error"):
        retries = svc.sessions.count_enqueue_retry(sid)
        log.warning("call %s left the Twilio queue with %s (retry %d)", sid, result, retries)
        if retries <= MAX_ENQUEUE_RETRIES and q.get(sid) is not None:
            add_enqueue(resp, svc)
        else:
            _abandon(q, sid, result)
            dialect, mode = session_voice(sid, svc)
            speak(resp, [text("sorry", dialect)], dialect, mode)
            failsafe = getattr(svc.config.current.service, "failsafe", None)
            if failsafe is not None and getattr(failsafe, "dial", None):
                resp.dial(failsafe.dial)
            else:
                resp.hangup()
    # bridged / bridging-in-process / redirected: the bridge or the redirect owns the call now
    return twiml(resp)


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


def _abandon(q: CallQueue, sid: str, reason: str) -> None:
    _, removed = q.remove(sid)
    if removed is not None:
        outcomes().abandoned(sid, removed.waited(), reason=reason)


@bp.post("/voice/bridge")
@signed
def bridge() -> Response:
    """Dequeue target (or call-back answer URL): ``<Dial>`` the agent who accepted."""
    svc = get_services()
    agent = agents_config(svc).agent(request.args.get("agent", ""))
    caller_sid = request.args.get("entry") or request.form.get("CallSid", "")
    is_callback = "entry" in request.args
    dialect, mode = session_voice(caller_sid, svc)
    q = call_queue(svc)
    resp = VoiceResponse()
    if agent is None:  # config changed under us: back to the caller's old place
        log.error("bridge for unknown agent %r; requeueing %s", request.args.get("agent"),
                  caller_sid)
        q.requeue(caller_sid)
        _mark_bridged(svc, caller_sid, with_agent=False)
        if is_callback:
            speak(resp, [text("callback_later", dialect)], dialect, mode)
            resp.hangup()
        else:
            speak(resp, [text("agent_missed", dialect)], dialect, mode)
            add_enqueue(resp, svc)
        return twiml(resp)
    entry = q.get(caller_sid)
    priority = entry.priority if entry else "normal"
    if entry is not None and entry.state == "waiting" and not is_callback:
        # put back after an ambiguous REST timeout, yet Twilio did dequeue them: they are with
        # this agent now, so no other agent may try to take them too
        log.warning("caller %s reached the bridge while queued again; taken off the queue",
                    caller_sid)
        q.remove(caller_sid)
    q.annotate(caller_sid, status="connecting")
    outcomes(svc).answered(caller_sid, agent.id, priority)
    if not is_callback and _mark_bridged(svc, caller_sid):
        # the agent talks to the caller now: no more listening for menu words or scam phrases
        stop = Stop()
        stop.stream(name=SPEECH_STREAM_NAME)
        resp.append(stop)
    speak(resp, [text("callback_greeting" if is_callback else "connecting", dialect)],
          dialect, mode)
    params = {"agent": agent.id, **({"entry": caller_sid} if is_callback else {})}
    dial = resp.dial(action=url_for("holding.bridge_done") + "?" + urlencode(params),
                     method="POST", timeout=30)
    if agent.endpoint_kind == "client":
        dial.client(agent.endpoint_target)
    else:
        dial.number(agent.endpoint_target)
    return twiml(resp)


def _mark_bridged(svc: Services, call_sid: str, with_agent: bool = True) -> bool:
    """Note in the call's session whether an agent has them (dequeued, bridging, talking).

    While they do, speech only annotates and a late wait poll never re-creates their entry.
    Returns True if a speech stream was started for the call (so there is one to stop).
    """
    sessions = svc.sessions

    def mark(record) -> bool:
        if record.bridged == with_agent:
            return False
        record.bridged = with_agent
        return True

    try:
        record = sessions.update(call_sid, mark)
    except Exception:  # the bridge goes on without the note (a lock or Redis hiccup)
        log.warning("could not mark %s as with an agent", call_sid, exc_info=True)
        return False
    return bool(record is not None and record.stream_started)


@bp.post("/voice/bridge-done")
@signed
def bridge_done() -> Response:
    """Dial action: if the agent did not answer, the caller goes back to their old place."""
    svc = get_services()
    caller_sid = request.args.get("entry") or request.form.get("CallSid", "")
    is_callback = "entry" in request.args
    status = request.form.get("DialCallStatus", "")
    q = call_queue(svc)
    resp = VoiceResponse()
    if status in ("completed", "answered"):
        q.annotate(caller_sid, status="ended", ended_at=repr(time.time()))
        resp.hangup()
        return twiml(resp)
    log.warning("agent %s did not answer %s (%s); requeueing", request.args.get("agent"),
                caller_sid, status)
    q.requeue(caller_sid)
    _mark_bridged(svc, caller_sid, with_agent=False)
    dialect, mode = session_voice(caller_sid, svc)
    if is_callback:
        speak(resp, [text("callback_later", dialect)], dialect, mode)
        resp.hangup()
    else:
        speak(resp, [text("agent_missed", dialect)], dialect, mode)
        add_enqueue(resp, svc)
    return twiml(resp)


@bp.post("/voice/callback-status")
@signed
def callback_status() -> Response:
    """Status callback of a call-back call: a caller who did not pick up is recorded."""
    caller_sid = request.args.get("entry", "")
    status = request.form.get("CallStatus", "")
    if status in ("busy", "no-answer", "failed", "canceled"):
        metrics.CALLBACKS.labels("failed").inc()
        q = call_queue()
        entry = q.get(caller_sid)
        q.annotate(caller_sid, status="callback_failed")
        outcomes().abandoned(caller_sid, entry.waited() if entry else 0.0,
                             reason=f"callback_{status}")
    return Response("", status=204)


# -- used by the console / API and by the flow's status callback --
class DispatchError(Exception):
    """Twilio could not take the caller; they were put back in their place. Try again.

    ``reason``: not_queued (the caller is not in Twilio's queue yet, e.g. still hearing the
    transfer sentence), auth, rate, server, client or timeout (see ``telephony.rest.classify``).
    """

    def __init__(self, message: str, reason: str = "server"):
        super().__init__(message)
        self.reason = reason


class CallerGone(Exception):
    """Twilio says the call has ended: the entry is closed as abandoned."""


_queue_sids: dict[tuple[int, str], str] = {}


def twilio_queue_sid(svc: Services, refresh: bool = False) -> str | None:
    """SID of the hotline's Twilio queue, looked up by name once per process."""
    name = svc.config.current.service.twilio.queue_name
    key = (id(svc.calls), name)
    if refresh:
        _queue_sids.pop(key, None)
    if key not in _queue_sids:
        sid = svc.calls.queue_sid(name)
        if sid is None:
            return None
        _queue_sids[key] = sid
    return _queue_sids[key]


def connect_next(agent: Agent, base_url: str | None = None,
                 now: float | None = None) -> QueueEntry | None:
    """Accept the next caller for ``agent`` and get them on the line.

    Waiting caller: dequeue THAT member from Twilio's queue to /voice/bridge. Call-back entry:
    place an outbound call whose answer URL bridges. REST failures are classified, never
    guessed: only a call Twilio reports as ended is counted abandoned (and the next caller
    tried); a caller not in the queue yet is retried briefly; auth, rate, server errors and
    timeouts put the caller back in the same place and raise DispatchError. Raises AgentBusy if
    the agent still holds a caller.
    """
    svc = get_services()
    q, out = call_queue(svc), outcomes(svc)
    base = (base_url or public_base(svc)).rstrip("/")
    while True:
        entry = q.accept_next(agent.id, agent.skills, now)
        if entry is None:
            return None
        sid = entry.call_sid
        try:
            if entry.callback:
                _place_callback(svc, q, agent, entry, base)
            else:
                _dequeue(svc, sid, f"{base}/voice/bridge?agent={agent.id}")
                q.annotate(sid, status="dequeued")
                _mark_bridged(svc, sid)
        except CallerGone:
            log.info("caller %s has hung up; trying the next", sid)
            q.finish(agent.id)
            out.abandoned(sid, entry.waited(), reason="gone")
            continue
        except DispatchError as exc:
            metrics.REST_ERRORS.labels(exc.reason).inc()
            log.warning("could not connect %s (%s: %s); caller put back", sid, exc.reason, exc)
            q.requeue(sid)
            raise
        except Exception as exc:
            log.exception("failure while connecting %s; caller put back", sid)
            q.requeue(sid)
            raise DispatchError(str(exc), "server") from exc
        since_start = entry.context.get("call_started_at")
        out.accepted(sid, agent.id, entry.priority, entry.waited(),
                     (entry.accepted_at or time.time()) - since_start
                     if isinstance(since_start, (int, float)) else None)
        return q.get(sid) or entry


def _dequeue(svc: Services, sid: str, url: str) -> None:
    """Dequeue THAT caller to ``url``; returns once Twilio took them (or raises)."""
    deadline = time.monotonic() + NOT_QUEUED_RETRY_SECONDS
    refreshed = False
    while True:
        qsid = twilio_queue_sid(svc, refresh=refreshed)
        try:
            if qsid is None:  # nobody has entered Twilio's queue yet
                raise TwilioRestException(404, "", "hotline queue does not exist yet")
            svc.calls.dequeue(qsid, sid, url)
            return
        except TwilioRestException as exc:
            kind = classify(exc)
            if kind not in ("not_found", "client"):
                raise DispatchError(f"Twilio answered {exc.status}", kind) from exc
            if _call_ended(svc, sid):
                raise CallerGone(sid) from exc
            if kind == "client":
                raise DispatchError(f"Twilio refused the dequeue ({exc.status})", kind) from exc
        except Exception as exc:  # timeout, connection reset: was it applied or not?
            if _dequeued_anyway(svc, qsid, sid):
                log.warning("dequeue of %s timed out but Twilio took the caller", sid)
                return
            raise DispatchError(f"Twilio did not answer: {exc}", "timeout") from exc
        # the call is live but not a member (yet): still hearing the transfer sentence
        if time.monotonic() >= deadline:
            raise DispatchError("caller not in Twilio's queue yet", "not_queued")
        refreshed = True  # a stale queue SID looks the same: look the queue up again
        time.sleep(NOT_QUEUED_RETRY_PAUSE)


def _call_ended(svc: Services, sid: str) -> bool:
    """Twilio's own word on the call (404 = unknown = ended). Errors here are DispatchErrors."""
    try:
        status = svc.calls.call_status(sid)
    except Exception as exc:
        raise DispatchError(f"call status unavailable: {exc}", classify(exc)) from exc
    return status is None or status in ENDED_STATUSES


def _dequeued_anyway(svc: Services, qsid: str | None, sid: str) -> bool:
    """After an ambiguous timeout: True when the caller left the queue and is still live,
    i.e. our dequeue went through. Unknown (Twilio still silent): False, so the caller is
    put back; a wait poll that still arrives later requeues a wrong guess the other way."""
    try:
        if qsid is None or svc.calls.in_queue(qsid, sid):
            return False
        status = svc.calls.call_status(sid)
    except Exception:
        return False
    if status is None or status in ENDED_STATUSES:
        raise CallerGone(sid)
    return True


def _place_callback(svc: Services, q: CallQueue, agent: Agent, entry: QueueEntry,
                    base: str) -> None:
    sid = entry.call_sid
    query = urlencode({"agent": agent.id, "entry": sid})
    try:
        new_sid = svc.calls.call(
            entry.callback_to or "", entry.callback_from or "", f"{base}/voice/bridge?{query}",
            status_callback=f"{base}/voice/callback-status?{urlencode({'entry': sid})}",
        )
    except TwilioRestException as exc:
        kind = classify(exc)
        if kind in ("client", "not_found"):  # Twilio will not call that number
            raise CallerGone(sid) from exc
        raise DispatchError(f"Twilio answered {exc.status}", kind) from exc
    except Exception as exc:
        raise DispatchError(f"Twilio did not answer: {exc}", "timeout") from exc
    metrics.CALLBACKS.labels("placed").inc()
    q.annotate(sid, status="calling_back", callback_call=new_sid)


def finish_call(agent: Agent, disposition: str, now: float | None = None) -> QueueEntry | None:
    """The agent is done: free them and record the handling time and disposition."""
    entry = call_queue().finish(agent.id)
    if entry is not None:
        end = time.time() if now is None else now
        handling = max(0.0, end - (entry.accepted_at or end))
        outcomes().handled(entry.call_sid, agent.id, handling, disposition)
    return entry


def on_call_completed(call_sid: str) -> str:
    """For the flow's ``/voice/status``: a caller who hung up leaves the queue (abandoned)."""
    return call_queue().on_call_completed(call_sid)
