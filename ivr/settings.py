"""Process settings from the environment: where files live, secrets, and the Redis URL.

Secrets never live in config files; they come from the environment (or, for a local demo with no
Twilio account, from a random token generated once into the git-ignored ``var/`` folder).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEV_TOKEN_FILE = "dev_auth_token"
TWILIO_API = "https://api.twilio.com"
# Dev mode (no TWILIO_AUTH_TOKEN): where the local stand-in reaches the service when neither
# IVR_PUBLIC_URL nor config's public_url says otherwise (`ivr serve` sets it from --bind).
DEV_PUBLIC_URL = "http://127.0.0.1:5000"
# Without a Twilio account (no TWILIO_AUTH_TOKEN) REST calls go to the local stand-in
# (`ivr simulate`), which listens here by default.
DEV_API_BASE = "http://127.0.0.1:5099"


@dataclass(frozen=True)
class Settings:
    """Where the project's folders are and which secrets the process uses."""

    root: Path
    config_dir: Path
    grammars_dir: Path
    voices_dir: Path
    var_dir: Path
    redis_url: str | None = None
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = ""
    agent_api_token: str | None = None
    twilio_api_base: str | None = None  # where REST calls go; only ever from the environment
    secret_key: str = field(default="", repr=False)
    public_url: str | None = None  # IVR_PUBLIC_URL: wins over config's public_url
    dev_mode: bool = False  # no real TWILIO_AUTH_TOKEN: a local demo with the stand-in
    dev_public_url: str = DEV_PUBLIC_URL
    agent_api_agent: str | None = None  # the one agent the shared API token acts as

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> Settings:
        """Read settings; ``IVR_ROOT`` (or the current folder) holds config/, grammars/, voices/."""
        base = Path(root or os.environ.get("IVR_ROOT") or Path.cwd()).resolve()
        var = Path(os.environ.get("IVR_VAR_DIR") or base / "var")
        real_token = os.environ.get("TWILIO_AUTH_TOKEN")
        token = real_token or _dev_secret(var, DEV_TOKEN_FILE)
        # REST calls carry the auth token as Basic auth: their target is never taken from a
        # config file, only from the environment (or the local stand-in in dev mode).
        api_base = os.environ.get("TWILIO_API_BASE") or (
            TWILIO_API if real_token else DEV_API_BASE)
        return cls(
            root=base,
            config_dir=Path(os.environ.get("IVR_CONFIG_DIR") or base / "config"),
            grammars_dir=Path(os.environ.get("IVR_GRAMMARS_DIR") or base / "grammars"),
            voices_dir=Path(os.environ.get("IVR_VOICES_DIR") or base / "voices"),
            var_dir=var,
            redis_url=os.environ.get("REDIS_URL") or None,
            twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID")
            or "AC00000000000000000000000000000000",
            twilio_auth_token=token,
            agent_api_token=os.environ.get("IVR_AGENT_API_TOKEN") or None,
            twilio_api_base=api_base,
            secret_key=os.environ.get("IVR_SECRET_KEY") or _dev_secret(var, "dev_secret_key"),
            public_url=os.environ.get("IVR_PUBLIC_URL") or None,
            dev_mode=not real_token,
            dev_public_url=os.environ.get("IVR_DEV_PUBLIC_URL") or DEV_PUBLIC_URL,
            agent_api_agent=os.environ.get("IVR_AGENT_API_AGENT") or None,
        )


def _dev_secret(var_dir: Path, name: str) -> str:
    """A random secret kept in var/ so a local demo works without any account or env setup."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    from ivr.private_files import private_dir

    private_dir(var_dir)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
