"""Agent dispatch: accept -> dequeue -> bridge, with no Flask in it.

An agent's accept picks a caller from OUR queue (Redis, atomic), then asks Twilio to dequeue THAT
caller to ``/voice/bridge?agent=ID`` (the queue routes in ``ivr.telephony.queue_routes`` answer
it with a ``<Dial>``); a call-back entry is called back with REST instead. REST failures are
classified (``ivr.telephony.rest.classify``), never guessed. The console (``ivr.routing.console``)
and the queue routes call these with the process's ``Services``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException

from ivr import metrics, public_url
from ivr.routing.agents_config import Agent
from ivr.routing.queue import CallQueue, QueueEntry

if TYPE_CHECKING:
    from ivr.services import Services

log = logging.getLogger(__name__)

NOT_QUEUED_RETRY_SECONDS = 3.0  # a 404 while the caller still hears the transfer sentence
NOT_QUEUED_RETRY_PAUSE = 0.5


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


def connect_next(svc: Services, agent: Agent, base_url: str | None = None,
                 now: float | None = None) -> QueueEntry | None:
    """Accept the next caller for ``agent`` and get them on the line.

    Waiting caller: dequeue THAT member from Twilio's queue to /voice/bridge. Call-back entry:
    place an outbound call whose answer URL bridges. REST failures are classified, never
    guessed: only a call Twilio reports as ended is counted abandoned (and the next caller
    tried); a caller not in the queue yet is retried briefly; auth, rate, server errors and
    timeouts put the caller back in the same place and raise DispatchError. Raises AgentBusy if
    the agent still holds a caller.
    """
    q, out = svc.queue, svc.outcomes
    # the configured public URL, never a request's Host: a forged Host must not choose where a
    # caller is sent
    base = (base_url or public_url.base_url(svc.settings, svc.config)).rstrip("/")
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
                mark_bridged(svc, sid)
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
            kind = svc.calls.classify(exc)
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
        raise DispatchError(f"call status unavailable: {exc}", svc.calls.classify(exc)) from exc
    return svc.calls.is_ended(status)


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
    if svc.calls.is_ended(status):
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
        kind = svc.calls.classify(exc)
        if kind in ("client", "not_found"):  # Twilio will not call that number
            raise CallerGone(sid) from exc
        raise DispatchError(f"Twilio answered {exc.status}", kind) from exc
    except Exception as exc:
        raise DispatchError(f"Twilio did not answer: {exc}", "timeout") from exc
    metrics.CALLBACKS.labels("placed").inc()
    q.annotate(sid, status="calling_back", callback_call=new_sid)


def finish_call(svc: Services, agent: Agent, disposition: str,
                now: float | None = None) -> QueueEntry | None:
    """The agent is done: free them and record the handling time and disposition."""
    entry = svc.queue.finish(agent.id)
    if entry is not None:
        end = time.time() if now is None else now
        handling = max(0.0, end - (entry.accepted_at or end))
        svc.outcomes.handled(entry.call_sid, agent.id, handling, disposition)
    return entry


def on_call_completed(svc: Services, call_sid: str) -> str:
    """A caller who hung up leaves the queue (abandoned); a call-back entry keeps its place."""
    return svc.queue.on_call_completed(call_sid)


def mark_bridged(svc: Services, call_sid: str, with_agent: bool = True) -> bool:
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


def abandon(svc: Services, sid: str, reason: str) -> None:
    """Take a caller out of the queue and count them abandoned (they left, or gave up)."""
    _, removed = svc.queue.remove(sid)
    if removed is not None:
        svc.outcomes.abandoned(sid, removed.waited(), reason=reason)
