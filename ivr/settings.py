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
    twilio_api_base: str | None = None  # overrides config's twilio.api_base when set
    secret_key: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> Settings:
        """Read settings; ``IVR_ROOT`` (or the current folder) holds config/, grammars/, voices/."""
        base = Path(root or os.environ.get("IVR_ROOT") or Path.cwd()).resolve()
        var = Path(os.environ.get("IVR_VAR_DIR") or base / "var")
        real_token = os.environ.get("TWILIO_AUTH_TOKEN")
        token = real_token or _dev_secret(var, DEV_TOKEN_FILE)
        api_base = os.environ.get("TWILIO_API_BASE") or (None if real_token else DEV_API_BASE)
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
        )


def _dev_secret(var_dir: Path, name: str) -> str:
    """A random secret kept in var/ so a local demo works without any account or env setup."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
