"""The `@signed` decorator every Twilio-facing route uses (reads token and URL from services):
403 on a bad signature, then 400 on a read parameter that does not fit its format."""

from __future__ import annotations

from ivr.public_url import base_url
from ivr.services import get_services
from ivr.telephony.signature import twilio_signed


def _context():
    svc = get_services()
    # the signed URL is rebuilt from the configured public URL only (never Host / X-Forwarded-*)
    return svc.settings.twilio_auth_token, base_url(svc.settings, svc.config), ()


signed = twilio_signed(_context)
# Only for the Fallback URL: its answer (a human, always) depends on no parameter, so a value
# that does not fit is logged there instead of refusing a caller their way to a person.
signed_any_format = twilio_signed(_context, check_formats=False)
