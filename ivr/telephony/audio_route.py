"""Serves rendered prompts at ``/audio/<sha256>.wav`` for Twilio's ``<Play>``.

The name is the content hash, so the file never changes: an ETag equal to the hash and an
immutable, year-long Cache-Control let Twilio and proxies cache it. Names are checked against the
hash pattern before any filesystem access, so traversal attempts never reach the disk.
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from ivr.services import get_services
from ivr.speech.voice_cache import is_valid_name

bp = Blueprint("audio", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/audio/<name>")
def audio(name: str):
    if not is_valid_name(name):
        abort(404)
    path = get_services().voices.path_for_name(name)
    if path is None or not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype="audio/wav",
        conditional=True,  # Range -> 206, If-None-Match -> 304
        etag=name[:-4],
        max_age=ONE_YEAR,
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
