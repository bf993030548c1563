"""<Enqueue> and <Dial>: where a caller waits for, and reaches, a person.

Enqueue follows Twilio's reference: waitUrl is requested with QueuePosition, QueueSid, QueueTime,
AvgQueueTime, CurrentQueueSize and MaxQueueSize, its document is played and the URL requested
again when it ends (a Redirect there moves to another wait document); only Play, Say, Pause,
Gather, Hangup, Redirect and Leave are allowed in it. When the call leaves the queue the action
URL gets QueueResult: ``leave`` (then its TwiML runs), ``redirected`` (a REST dequeue or call
update: action requested right away, the REST URL is what runs next), ``hangup`` (the caller
hung up or the call was completed), ``bridged`` (a <Dial><Queue> took the caller, after the
bridge), ``queue-full``.

A waitUrl that cannot be fetched (connection error, HTTP error) does not end the call here: the
caller keeps their place, hears the default hold music and the waitUrl is tried again.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ivr.sim.control import CallEnded, Instruction, LeaveQueue, RestInterrupt, Transfer
from ivr.sim.twiml import Node, TwiMLError
from ivr.sim.webhook import new_sid, resolve

if TYPE_CHECKING:
    from ivr.sim.call import SimCall

WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Gather", "Hangup", "Redirect", "Leave"})
MIN_WAIT_LOOP_SECONDS = 1.0  # an empty wait document must not spin the loop


def enqueue(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    name = node.text or node.get("workflowSid") or "default"
    max_size = int(node.attrs["maxQueueSize"]) if "maxQueueSize" in node.attrs else None
    queue = call.sim.queues.get_or_create(name, max_size)
    action = resolve(doc_url, node.get("action")) if node.get("action") else None
    method = node.get("method", "POST")
    start = call.clock.now()
    if not call.sim.queues.join(queue, call.sid):
        call.log.add("queue_full", queue=name)
        _after(call, action, method, "queue-full", queue.sid, 0)
        return
    call.queue = queue
    call.enqueued_at = start if call.enqueued_at is None else call.enqueued_at
    call.log.add("enqueued", queue=name, queue_sid=queue.sid)
    call.offer("enqueue")
    result, follow = "hangup", None
    try:
        _wait_loop(call, node, doc_url, queue, start)
    except LeaveQueue:
        result = "leave"
    except RestInterrupt as r:
        ins = r.instruction
        if ins.kind == "bridge":
            result, follow = "bridged", ins
        elif ins.kind == "hangup":
            result, follow = "hangup", ins
        else:
            result, follow = "redirected", ins
    except CallEnded:
        call.status = "completed"
        waited = call.clock.now() - start
        call.sim.queues.leave(queue, call.sid, waited)
        call.queue = None
        call.log.add("left_queue", result="hangup", waited=round(waited, 3))
        if action:
            _post_action(call, action, method, "hangup", queue.sid, waited)
        raise
    waited = call.clock.now() - start
    call.sim.queues.leave(queue, call.sid, waited)
    call.queue = None
    call.log.add("left_queue", result=result, waited=round(waited, 3))
    if result == "bridged":
        _bridged_member(call, follow)
        waited = call.clock.now() - start
    if result in ("redirected", "hangup") and follow is not None:
        if action:
            _post_action(call, action, method, result, queue.sid, waited)
        raise RestInterrupt(follow)
    _after(call, action, method, result, queue.sid, waited, follow)


def _wait_loop(call: SimCall, node: Node, doc_url: str, queue, start: float) -> None:
    wait_url = resolve(doc_url, node.get("waitUrl")) if node.get("waitUrl") else None
    wait_method = node.get("waitUrlMethod", "POST")
    nxt: Transfer | None = None
    while True:
        if wait_url is None:
            call.log.add("hold_music", seconds=call.config.hold_music_seconds)
            call.sleep(call.config.hold_music_seconds)
            continue
        position, size = call.sim.queues.snapshot(queue, call.sid)
        params = {
            "QueuePosition": position, "QueueSid": queue.sid,
            "QueueTime": int(call.clock.now() - start), "AvgQueueTime": queue.average_wait,
            "CurrentQueueSize": size, "MaxQueueSize": queue.max_size,
        }
        if nxt is not None:  # a Redirect or Gather action inside the wait document
            url, method, extra = nxt.url, nxt.method, {**params, **nxt.params}
        else:
            url, method, extra = wait_url, wait_method, params
        nxt = None
        try:
            verbs, wdoc = call.fetch_twiml(url, method, extra, use_fallback=False)
        except CallEnded as exc:
            if exc.reason != "app_error":
                raise
            # The caller stays in the queue: hold music, then the waitUrl is tried again.
            call.log.add("wait_url_failed", url=url)
            call.sleep(call.config.hold_music_seconds)
            continue
        for v in verbs:
            if v.name not in WAIT_VERBS:
                raise TwiMLError(v.name, "is not allowed in an <Enqueue> waitUrl document")
        t0 = call.clock.now()
        try:
            call.execute(verbs, wdoc, in_queue=True)
        except Transfer as t:
            nxt = t
        if call.clock.now() - t0 < MIN_WAIT_LOOP_SECONDS and nxt is None:
            call.sleep(MIN_WAIT_LOOP_SECONDS)


def _post_action(call: SimCall, action: str, method: str, result: str, queue_sid: str,
                 waited: float, dequeuer: str | None = None) -> None:
    """Request the Enqueue action (response not run: the call is gone or redirected)."""
    extra = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": int(waited)}
    if dequeuer:
        extra["DequeingCallSid"] = dequeuer
    with contextlib.suppress(CallEnded):
        call.request(action, method, extra, kind="enqueue_action")


def _after(call: SimCall, action: str | None, method: str, result: str, queue_sid: str,
           waited: float, follow: Instruction | None = None) -> None:
    """Leave/bridged/queue-full: the action's TwiML runs next; without action, next verb."""
    if not action:
        return
    extra = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": int(waited)}
    if follow is not None and follow.detail.get("dequeuer"):
        extra["DequeingCallSid"] = follow.detail["dequeuer"]
    raise Transfer(action, method, extra)


def _bridged_member(call: SimCall, ins: Instruction) -> None:
    """Taken by a <Dial><Queue>: play the Queue url document to this caller, then talk."""
    if ins.url:
        verbs, wdoc = call.fetch_twiml(ins.url, ins.method, {
            "QueueSid": ins.queue_sid, "DequeingCallSid": ins.detail.get("dequeuer", "")})
        for v in verbs:
            if v.name not in ("Play", "Say", "Pause", "Redirect"):
                raise TwiMLError(v.name, "is not allowed in a <Queue> url document")
        call.execute([v for v in verbs if v.name != "Redirect"], wdoc)
    call.bridged_at = call.clock.now() if call.bridged_at is None else call.bridged_at
    call.log.add("bridged", to=ins.detail.get("dequeuer", "agent"))
    call.sleep(float(ins.detail.get("talk", call.config.agent.talk_seconds)))
    call.log.add("agent_hangup")


def dial(call: SimCall, node: Node, doc_url: str, in_queue: bool) -> None:
    """A simulated agent answers after the configured ring time and talks, then hangs up."""
    timeout = float(node.get("timeout", "30"))
    agent = call.config.agent
    nouns = node.children or [Node("Number", text=node.text)]
    target = nouns[0]
    call.log.add("dial", noun=target.name, target=target.text, timeout=timeout)
    call.offer("dial")
    dial_sid, status, talked = new_sid("CA"), "completed", 0.0
    action = resolve(doc_url, node.get("action")) if node.get("action") else None
    method = node.get("method", "POST")
    try:
        if target.name == "Queue":
            status, talked = _dial_queue(call, target, doc_url, timeout)
        elif not agent.answers or agent.answer_after > timeout:
            call.sleep(timeout)
            status = "no-answer"
        else:
            call.sleep(agent.answer_after)
            call.bridged_at = call.clock.now() if call.bridged_at is None else call.bridged_at
            call.log.add("bridged", to=f"{target.name}:{target.text}")
            limit = float(node.get("timeLimit", "14400"))
            talked = min(agent.talk_seconds, limit)
            call.sleep(talked)
            call.log.add("agent_hangup")
    except CallEnded:
        call.status = "completed"
        if action:
            with contextlib.suppress(CallEnded):
                call.request(action, method, _dial_params(dial_sid, "completed", talked),
                             kind="dial_action")
        raise
    call.log.add("dial_end", status=status)
    if action:
        raise Transfer(action, method, _dial_params(dial_sid, status, talked))


def _dial_params(sid: str, status: str, talked: float) -> dict[str, str]:
    return {"DialCallSid": sid, "DialCallStatus": status,
            "DialCallDuration": str(int(round(talked))),
            "DialBridged": "true" if status == "completed" else "false"}


def _dial_queue(call: SimCall, noun: Node, doc_url: str, timeout: float) -> tuple[str, float]:
    """This call (an agent leg) takes the first caller waiting in the named queue."""
    queue = next((q for q in call.sim.queues.all() if q.friendly_name == noun.text), None)
    if queue is None:
        return "failed", 0.0
    waited = 0.0
    while True:
        member = call.sim.queues.front(queue)
        target = call.sim.live_call(member) if member else None
        if target is not None:
            break
        if waited >= timeout:
            return "no-answer", 0.0
        call.sleep(1.0)
        waited += 1.0
    talk = call.config.agent.talk_seconds
    url = resolve(doc_url, noun.get("url")) if noun.get("url") else None
    target.interrupt(Instruction("bridge", url=url, method=noun.get("method", "POST"),
                                 queue_sid=queue.sid,
                                 detail={"dequeuer": call.sid, "talk": talk}))
    call.bridged_at = call.clock.now() if call.bridged_at is None else call.bridged_at
    call.log.add("bridged", to=target.sid, queue=queue.friendly_name)
    call.sleep(talk)
    return "completed", talk

