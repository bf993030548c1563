"""Agent console: login, the live queue, accept next, the caller's context, finish.

Pages under /agent/, a JSON API under /agent/api/. The page uses the same API with its session
cookie plus a per-session CSRF token (header ``X-CSRF-Token`` or form field ``csrf_token``);
scripts and tools use ``Authorization: Bearer <token>`` (no cookie, so no CSRF needed).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, InternalServerError

from ivr import metrics
from ivr.public_url import base_url
from ivr.routing import console_text as T
from ivr.routing import dispatch
from ivr.routing.agents import (
    agent_for_token,
    csrf_ok,
    is_demo_password,
    new_csrf_token,
    verify_password,
)
from ivr.routing.agents_config import Agent
from ivr.routing.auth_store import AgentSessions, LoginThrottle
from ivr.routing.queue import AgentBusy
from ivr.services import EXTENSION_KEY, get_services

log = logging.getLogger(__name__)

bp = Blueprint(
    "console", __name__, url_prefix="/agent", template_folder="templates",
    static_folder="static", static_url_path="/static",
)

DISPOSITIONS = T.DISPOSITIONS  # id (stored, API) -> label on the console
QUEUE_LIST_LIMIT = 100
NOT_QUEUED_MESSAGE = T.ERRORS["not_queued"]
DISPATCH_MESSAGE = T.ERRORS["dispatch"]
STORE_DOWN_MESSAGE = T.ERRORS["store"]
SESSION_LIFETIME = timedelta(hours=8)  # one shift; the server-side session expires with it


@bp.record_once
def _cookie_defaults(state) -> None:
    """Session cookies the console relies on: not readable by scripts, not sent cross-site,
    only over https when the service is public over https, and with a lifetime."""
    cfg = state.app.config
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if cfg.get("SESSION_COOKIE_SAMESITE") not in ("Strict", "Lax"):
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    svc = state.app.extensions.get(EXTENSION_KEY)
    secure = True
    if svc is not None:
        try:
            url = base_url(svc.settings, svc.config)
            secure = url.startswith("https://") or not svc.settings.dev_mode
        except ValueError:
            secure = True
    cfg["SESSION_COOKIE_SECURE"] = secure


def _sessions() -> AgentSessions:
    return AgentSessions(get_services().redis, int(SESSION_LIFETIME.total_seconds()))


def client_address() -> str:
    """The client's address: the socket peer, or (from a trusted proxy only) the last
    X-Forwarded-For hop that is not itself a trusted proxy."""
    peer = request.remote_addr or "-"
    proxies = set(getattr(get_services().config.current.service, "trusted_proxies", ()) or ())
    if peer not in proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in proxies:
            return hop[:64]
    return peer


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = new_csrf_token()
    return token


@bp.before_request
def _authenticate() -> Response | None:
    """Bearer token, else session (+ CSRF on every POST, login included)."""
    g.agent, g.bearer = None, False
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        svc = get_services()
        claimed = request.headers.get("X-Agent-Id") or request.args.get("agent")
        if claimed is None and request.is_json:
            claimed = (request.get_json(silent=True) or {}).get("agent")
        ok, agent = agent_for_token(svc.config.current.agents, svc.settings.agent_api_token,
                                    header[len("Bearer "):].strip(), claimed,
                                    getattr(svc.settings, "agent_api_agent", None))
        if not ok:
            return _json_error(401, "bad_token")
        g.agent, g.bearer = agent, True
        return None
    if request.method == "POST":
        given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if not csrf_ok(session.get("csrf"), given):
            log.warning("console POST without a valid CSRF token: %s", request.path)
            abort(403)
    sid = session.get("sid")
    if sid:
        agents = get_services().config.current.agents
        agent_id = _sessions().valid_for(sid, {a.id: a.password_hash for a in agents.agents})
        if agent_id is None:
            session.clear()  # logged out, expired, or the password changed since
        else:
            g.agent = agents.agent(agent_id)
    return None


@bp.errorhandler(redis.exceptions.RedisError)
@bp.errorhandler(TimeoutError)
def _store_down(exc: Exception) -> Response:
    """Redis down: the API answers JSON 503 (callers still reach a human via the failsafe)."""
    log.error("agent console %s failed: %s: %s", request.path, type(exc).__name__, exc)
    return _json_error(503, "store", reason="store")


@bp.errorhandler(Exception)
def _api_error(exc: Exception) -> Response | HTTPException:
    """Any other failure answers JSON on the API (pages keep Flask's error page)."""
    if isinstance(exc, HTTPException):
        return exc
    log.exception("agent console %s failed", request.path)
    if not request.path.startswith("/agent/api/"):
        return InternalServerError(original_exception=exc)
    return _json_error(500, "internal", reason="internal")


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/agent/api/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _json_error(status: int, code: str, **extra: Any) -> Response:
    """``error``: the agent's words (console_text.ERRORS); ``code``: the id tools match on."""
    resp = jsonify({"error": T.error(code), "code": code, **extra})
    resp.status_code = status
    return resp


def _require_agent() -> Agent | Response:
    if g.agent is None:
        return _json_error(401, "login_required")
    return g.agent


# -- pages --
@bp.get("/login")
def login_form() -> str:
    return render_template("agent_console/login.html", csrf=csrf_token(), error=None)


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    svc = get_services()
    agent_id = (request.form.get("agent") or "").strip()[:64]
    password = request.form.get("password", "")
    address = client_address()
    throttle = LoginThrottle(svc.redis)
    if throttle.locked(agent_id, address):
        log.warning("console login refused: locked out (%r from %s)", agent_id, address)
        return render_template("agent_console/login.html", csrf=csrf_token(),
                               error=T.ERRORS["login_throttled"]), 429
    agent = verify_password(svc.config.current.agents, agent_id, password)
    if agent is None:
        throttle.failed(agent_id, address)
        log.warning("failed console login for %r from %s", agent_id, address)
        return render_template("agent_console/login.html", csrf=csrf_token(),
                               error=T.ERRORS["login_failed"]), 401
    if not svc.settings.dev_mode and is_demo_password(password):
        log.error("console login of %s refused: a documented demo password outside dev mode "
                  "(set a new one with `ivr agents set-password %s --write`)", agent.id, agent.id)
        return render_template("agent_console/login.html", csrf=csrf_token(),
                               error=T.ERRORS["login_demo_password"]), 403
    throttle.succeeded(agent_id, address)
    session.clear()  # no session fixation: a fresh session and CSRF token after login
    session.permanent = True
    session["sid"] = _sessions().create(agent.id, agent.password_hash)
    session["csrf"] = new_csrf_token()
    log.info("agent %s logged in from %s", agent.id, address)
    return redirect(url_for("console.index"))


@bp.post("/logout")
def logout() -> Response:
    _sessions().end(session.get("sid"))  # ends it on the server too: the cookie is now useless
    session.clear()
    return redirect(url_for("console.login_form"))


@bp.get("/")
def index() -> Response | str:
    if g.agent is None or g.bearer:
        return redirect(url_for("console.login_form"))
    return render_template("agent_console/console.html", agent=g.agent, csrf=csrf_token(),
                           dispositions=DISPOSITIONS, text=T.page_text())


# -- JSON API --
@bp.get("/api/queue")
def api_queue() -> Response:
    """The live queue (head, in the general order), counts by class, and my current caller."""
    if g.agent is None and not g.bearer:
        return _json_error(401, "login_required")
    svc = get_services()
    q = svc.queue
    now = time.time()
    sizes = q.sizes()
    for priority, count in sizes.items():
        metrics.QUEUE_LENGTH.labels(priority).set(count)
    current = None
    if g.agent is not None:
        svc.outcomes.heartbeat(g.agent.id, now)
        held = q.held_by(g.agent.id)
        current = _public(held, now) if held else None
    return jsonify({
        "now": now,
        "agent": _agent_json(g.agent),
        "sizes": sizes,
        "total": sum(sizes.values()),
        "entries": [_public(e, now) for e in q.entries(limit=QUEUE_LIST_LIMIT)],
        "current": current,
    })


@bp.post("/api/accept")
def api_accept() -> Response:
    """Take the next caller for my skills; they are dequeued and bridged to my endpoint."""
    agent = _require_agent()
    if isinstance(agent, Response):
        return agent
    try:
        entry = dispatch.connect_next(get_services(), agent)
    except AgentBusy as busy:
        return _json_error(409, "busy", call_sid=busy.call_sid)
    except dispatch.DispatchError as exc:
        if exc.reason == "not_queued":
            return _json_error(409, "not_queued", reason=exc.reason)
        return _json_error(503, "dispatch", reason=exc.reason)
    if entry is not None:
        log.info("agent %s accepted %s (%s)", agent.id, entry.call_sid, entry.priority)
    return jsonify({"entry": _public(entry) if entry else None})


@bp.post("/api/finish")
def api_finish() -> Response:
    """Done with my caller: record the disposition and free me for the next one."""
    agent = _require_agent()
    if isinstance(agent, Response):
        return agent
    body = request.get_json(silent=True) or request.form
    disposition = str(body.get("disposition") or "resolved")
    if disposition not in DISPOSITIONS:
        return _json_error(400, "unknown_disposition", allowed=list(DISPOSITIONS))
    entry = dispatch.finish_call(get_services(), agent, disposition)
    if entry is None:
        return _json_error(409, "no_current")
    log.info("agent %s finished %s: %s", agent.id, entry.call_sid, disposition)
    return jsonify({"finished": entry.call_sid, "disposition": disposition})


def _public(entry: Any, now: float | None = None) -> dict[str, Any]:
    """An entry for the API, with the words the console shows for its codes."""
    data = entry.public(now)
    data["labels"] = T.labels(data, get_services().config.current)
    return data


def _agent_json(agent: Agent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {"id": agent.id, "display_name": agent.display_name, "skills": agent.skills}
