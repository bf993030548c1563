"""A production-like copy of config/ for benchmarks that run `ivr serve` with a real token.

Outside dev mode `ivr serve` refuses agents whose password is a documented demo one, so the
copy gets random passwords (never printed; the benchmarks do not log in).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def config_with_fresh_passwords(folder: Path) -> Path:
    """config/ copied into ``folder``/config with a new random password for every agent."""
    from ivr.routing.agents import hash_password

    target = folder / "config"
    shutil.copytree(REPO / "config", target)
    path = target / "agents.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for agent in data.get("agents", []):
        agent["password_hash"] = hash_password(secrets.token_urlsafe(16))
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target
