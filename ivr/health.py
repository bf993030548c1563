"""GET /healthz (Redis, models, config version) and GET /metrics (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ivr.services import get_services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    svc = get_services()
    try:
        redis_ok = bool(svc.redis.ping())
    except Exception:  # an outage is a health result, not an error page
        redis_ok = False
    speech = svc.speech
    body = {
        "status": "ok" if redis_ok else "degraded",
        "redis": redis_ok,
        "config_version": svc.config.current.version,
        "speech": bool(speech is not None and speech.enabled),
    }
    return jsonify(body), 200 if redis_ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
