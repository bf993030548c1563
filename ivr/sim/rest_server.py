"""The Twilio REST endpoints the app calls, served locally (point twilio-python's base here).

Paths, form parameters and JSON shapes follow api.twilio.com/2010-04-01 closely enough for
twilio-python to parse: Calls (create, fetch, update with Url/Method, Twiml or Status), Queues
(list, create, fetch), Queue Members (list, fetch, dequeue with Url; ``Front`` too) and
Recordings (the audio a <Record> captured). Basic auth must be the account SID and auth token.
Every request is kept in ``requests`` so tests can assert what the app asked for.

Faults for tests and benchmarks: ``RestServer.inject`` makes matching requests answer an error
status (404, 401, 429, 500...) or stall past the client's timeout, before or after the request
takes effect (the ambiguous case: Twilio applied a dequeue but the answer never arrived).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, g, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from ivr.sim.control import Instruction

if TYPE_CHECKING:
    from ivr.sim.call import SimCall
    from ivr.sim.queues import Queue
    from ivr.sim.simulator import Simulator

API = "/2010-04-01/Accounts/<account>"


def _error(status: int, code: int, message: str) -> Response:
    resp = jsonify({"code": code, "message": message, "status": status,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}"})
    resp.status_code = status
    return resp


@dataclass
class Fault:
    """Requests matching ``method`` and ``path`` (regex, searched) misbehave ``times`` times.

    ``status``: answer that HTTP error instead. ``stall``: sleep that many seconds, before the
    request has any effect (``applied`` False: then answer 504) or after it took effect
    (``applied`` True: the client times out although the action happened).
    """

    method: str
    path: str
    status: int | None = None
    stall: float | None = None
    applied: bool = False
    times: int = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.search(self.path, path) is not None


TWILIO_ERRORS = {404: (20404, "The requested resource was not found"),
                 401: (20003, "Authenticate"), 403: (20003, "Forbidden"),
                 429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
                 503: (20503, "Service Unavailable")}


def build_app(sim: Simulator, log: list[dict[str, Any]],
              faults: list[Fault] | None = None,
              static: dict[str, str] | None = None) -> Flask:
    app = Flask("ivr-sim-rest")
    static = static if static is not None else {}
    cfg = sim.config
    faults = faults if faults is not None else []
    fault_lock = threading.Lock()

    def _take_fault() -> Fault | None:
        with fault_lock:
            for f in faults:
                if f.matches(request.method, request.path):
                    f.times -= 1
                    f.hits += 1
                    return f
        return None

    @app.before_request
    def _auth_and_record():
        if request.path.startswith("/static-twiml/"):
            return None
        log.append({"t": time.time(), "method": request.method, "path": request.path,
                    "form": request.form.to_dict(flat=True), "args": request.args.to_dict()})
        fault = _take_fault()
        if fault is not None:
            if fault.status is not None:
                code, message = TWILIO_ERRORS.get(fault.status, (20000 + fault.status, "Error"))
                return _error(fault.status, code, message)
            if fault.stall is not None and not fault.applied:
                time.sleep(fault.stall)
                return _error(504, 20504, "Gateway Timeout")
            g.stall_after = fault.stall
        auth = request.authorization
        account = (request.view_args or {}).get("account")
        if (auth is None or auth.username != cfg.account_sid
                or auth.password != cfg.auth_token or account != cfg.account_sid):
            return _error(401, 20003, "Authenticate")
        return None

    @app.after_request
    def _stall_after(resp: Response) -> Response:
        stall = g.get("stall_after")
        if stall:
            time.sleep(stall)  # the action is done; its answer arrives too late
        return resp

    # --- calls ---------------------------------------------------------------------------------

    @app.post(f"{API}/Calls.json")
    def create_call(account: str):
        f = request.form
        if not f.get("To") or not f.get("From"):
            return _error(400, 21201, "To and From are required")
        if not f.get("Url") and not f.get("Twiml") and not f.get("ApplicationSid"):
            return _error(400, 21205, "Url, Twiml or ApplicationSid is required")
        call = sim.create_outbound(f["To"], f["From"], f.get("Url"), f.get("Method", "POST"),
                                   f.get("Twiml"), f.get("StatusCallback"))
        return _created(_call_json(call, "queued"))

    @app.get(f"{API}/Calls.json")
    def list_calls(account: str):
        calls = [_call_json(c) for c in sim.live_calls()]
        return jsonify(_page("calls", calls, request.path))

    @app.get(f"{API}/Calls/<sid>.json")
    def fetch_call(account: str, sid: str):
        call = sim.live_call(sid)
        if call is not None:
            return jsonify(_call_json(call))
        done = sim.result_of(sid)
        if done is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(_done_json(sim, done))

    @app.post(f"{API}/Calls/<sid>.json")
    def update_call(account: str, sid: str):
        call = sim.live_call(sid)
        if call is None:
            if sim.result_of(sid) is not None:
                return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        f = request.form
        status = f.get("Status")
        if status in ("completed", "canceled"):
            call.interrupt(Instruction("hangup"))
        elif f.get("Twiml"):
            call.interrupt(Instruction("twiml", twiml=f["Twiml"]))
        elif f.get("Url"):
            call.interrupt(Instruction("redirect", url=f["Url"], method=f.get("Method", "POST")))
        else:
            return _error(400, 21218, "Url, Twiml or Status is required")
        return jsonify(_call_json(call))

    # --- queues --------------------------------------------------------------------------------

    @app.get(f"{API}/Queues.json")
    def list_queues(account: str):
        queues = [_queue_json(q, account) for q in sim.queues.all()]
        return jsonify(_page("queues", queues, request.path))

    @app.post(f"{API}/Queues.json")
    def create_queue(account: str):
        name = request.form.get("FriendlyName")
        if not name:
            return _error(400, 20001, "FriendlyName is required")
        max_size = request.form.get("MaxSize")
        return _created(_queue_json(sim.queues.get_or_create(name, int(max_size or 1000)), account))

    @app.get(f"{API}/Queues/<qsid>.json")
    def fetch_queue(account: str, qsid: str):
        return jsonify(_queue_json(_queue_or_404(sim, qsid), account))

    @app.get(f"{API}/Queues/<qsid>/Members.json")
    def list_members(account: str, qsid: str):
        q = _queue_or_404(sim, qsid)
        members = [_member_json(q, m.call_sid, account) for m in list(q.members)]
        return jsonify(_page("queue_members", members, request.path))

    @app.get(f"{API}/Queues/<qsid>/Members/<call_sid>.json")
    def fetch_member(account: str, qsid: str, call_sid: str):
        q = _queue_or_404(sim, qsid)
        sid = sim.queues.front(q) if call_sid == "Front" else call_sid
        if not sid or not q.position(sid):
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(_member_json(q, sid, account))

    @app.post(f"{API}/Queues/<qsid>/Members/<call_sid>.json")
    def dequeue_member(account: str, qsid: str, call_sid: str):
        q = _queue_or_404(sim, qsid)
        sid = sim.queues.front(q) if call_sid == "Front" else call_sid
        call = sim.live_call(sid)
        if not sid or not q.position(sid) or call is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        url = request.form.get("Url")
        if not url:
            return _error(400, 20001, "Missing required parameter Url in the post body")
        body = _member_json(q, sid, account)
        call.interrupt(Instruction("dequeue", url=url,
                                   method=request.form.get("Method", "POST"), queue_sid=q.sid))
        return jsonify(body)

    # --- static TwiML (a Fallback URL hosted outside the app) ------------------------------------

    @app.route("/static-twiml/<name>", methods=["GET", "POST"])
    def static_twiml(name: str):
        doc = static.get(name)
        if doc is None:
            abort(404)
        return Response(doc, mimetype="text/xml")

    # --- recordings ----------------------------------------------------------------------------

    @app.get(f"{API}/Recordings/<sid>")
    def recording(account: str, sid: str):
        data = sim.recordings.get(sid.removesuffix(".wav"))
        if data is None:
            abort(404)
        return Response(data, mimetype="audio/x-wav")

    return app


def _created(body: dict[str, Any]) -> Response:
    resp = jsonify(body)
    resp.status_code = 201
    return resp


def _page(key: str, items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
    return {key: items, "uri": uri, "first_page_uri": uri, "next_page_uri": None,
            "previous_page_uri": None, "page": 0, "page_size": max(50, len(items)),
            "start": 0, "end": max(0, len(items) - 1)}


def _queue_or_404(sim: Simulator, qsid: str) -> Queue:
    q = sim.queues.get(qsid)
    if q is None:
        abort(_error(404, 20404, f"The requested resource {request.path} was not found"))
    return q


def _call_json(call: SimCall, status: str | None = None) -> dict[str, Any]:
    cfg = call.config
    return {
        "sid": call.sid, "account_sid": cfg.account_sid, "to": call.to, "to_formatted": call.to,
        "from": call.from_, "from_formatted": call.from_, "status": status or call.status,
        "direction": call.direction, "api_version": "2010-04-01",
        "date_created": formatdate(usegmt=True), "date_updated": formatdate(usegmt=True),
        "start_time": None, "end_time": None, "duration": None, "parent_call_sid": None,
        "price": None, "price_unit": "USD", "answered_by": None, "forwarded_from": None,
        "caller_name": None, "queue_time": "0", "phone_number_sid": None,
        "uri": f"/2010-04-01/Accounts/{cfg.account_sid}/Calls/{call.sid}.json",
        "subresource_uris": {},
    }


def _done_json(sim: Simulator, result) -> dict[str, Any]:
    acc = sim.config.account_sid
    return {"sid": result.call_sid, "account_sid": acc, "status": result.status,
            "duration": str(int(round(result.duration))), "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{acc}/Calls/{result.call_sid}.json"}


def _queue_json(q: Queue, acc: str) -> dict[str, Any]:
    return {
        "sid": q.sid, "account_sid": acc, "friendly_name": q.friendly_name,
        "current_size": len(q.members), "max_size": q.max_size,
        "average_wait_time": q.average_wait, "date_created": q.date_created,
        "date_updated": q.date_created,
        "uri": f"/2010-04-01/Accounts/{acc}/Queues/{q.sid}.json",
    }


def _member_json(q: Queue, call_sid: str, acc: str) -> dict[str, Any]:
    m = next((m for m in q.members if m.call_sid == call_sid), None)
    wait = int(time.monotonic() - m.enqueued_real) if m else 0
    return {"call_sid": call_sid, "queue_sid": q.sid, "position": q.position(call_sid),
            "wait_time": wait, "date_enqueued": m.date_enqueued if m else None,
            "uri": f"/2010-04-01/Accounts/{acc}/Queues/{q.sid}/Members/{call_sid}.json"}


class _QuietHandler(WSGIRequestHandler):
    """Requests are kept in ``RestServer.requests``; no access log lines in the terminal."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class RestServer:
    """werkzeug server in a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0):
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.static: dict[str, str] = {}  # name -> TwiML served at /static-twiml/<name>
        self.app = build_app(sim, self.requests, self.faults, self.static)
        self.server = make_server(host, port, self.app, threaded=True,
                                  request_handler=_QuietHandler)
        self.host, self.port = host, self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="sim-rest")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def inject(self, method: str, path: str, *, status: int | None = None,
               stall: float | None = None, applied: bool = False, times: int = 1) -> Fault:
        """Make the next ``times`` matching requests fail (see ``Fault``)."""
        fault = Fault(method.upper(), path, status, stall, applied, times)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(5)
