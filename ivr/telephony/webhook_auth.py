"""The `@signed` decorator every Twilio-facing route uses (reads token and URL from services)."""

from __future__ import annotations

from ivr.services import get_services
from ivr.telephony.signature import twilio_signed


def _context():
    svc = get_services()
    service = svc.config.current.service
    return svc.settings.twilio_auth_token, service.public_url, service.trusted_proxies


signed = twilio_signed(_context)
