"""Helpers shared by tests: settings on the real repo config, and Twilio-signed requests."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

from twilio.request_validator import RequestValidator

from ivr.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
BASE = "http://localhost"


def make_settings(tmp_path: Path, redis_url: str | None, **overrides) -> Settings:
    """Settings reading the repository's config/, grammars/ and voices/, with var/ in tmp."""
    settings = Settings(
        root=REPO,
        config_dir=REPO / "config",
        grammars_dir=REPO / "grammars",
        voices_dir=REPO / "voices",
        var_dir=tmp_path / "var",
        redis_url=redis_url,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        agent_api_token="agent-api-token",
        agent_api_agent="wang",
        secret_key="test-secret",
        public_url=BASE,
    )
    return replace(settings, **overrides)


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path: str, params: dict[str, str], token: str = TOKEN):
    """POST as Twilio would: form params and an X-Twilio-Signature for the full URL."""
    sig = signature(BASE + path, params, token)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def call_params(call_sid: str, from_number: str = "+8613912345678", **extra) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT,
        "From": from_number,
        "To": "+8657100000000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        **extra,
    }
