"""Agent authentication: passwords (werkzeug hashes), API bearer tokens, CSRF tokens, throttling.

Passwords live only as hashes in config/agents.yaml. API tokens are either the shared
``IVR_AGENT_API_TOKEN`` (Settings.agent_api_token; the request names the agent) or per-agent
tokens whose SHA-256 is in agents.yaml (random tokens, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from ivr.routing.agents_config import Agent, AgentsConfig

# Documented demo passwords (docs/agent-console.md): refused outside dev mode, by `ivr serve`
# for agents whose hash matches one and at login (a config reload could bring one back).
DEMO_PASSWORDS = ("demo-wang-1234", "demo-chan-1234", "demo-li-1234")
DEMO_PATTERN = re.compile(r"demo-[a-z0-9_.-]{1,64}-1234")


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(config: AgentsConfig, agent_id: str, password: str) -> Agent | None:
    """The agent if the password matches; the same work is done for unknown ids (no timing
    oracle telling which ids exist)."""
    agent = config.agent(agent_id)
    ok = check_password_hash(agent.password_hash if agent else _dummy_hash(), password)
    return agent if agent and ok else None


def is_demo_password(password: str) -> bool:
    """A documented demo password (or one of their shape): never valid outside dev mode."""
    return password in DEMO_PASSWORDS or DEMO_PATTERN.fullmatch(password) is not None


def agents_with_demo_passwords(config: AgentsConfig) -> list[str]:
    """Ids of agents whose password is still a documented demo one (slow: one hash check per
    agent and demo password; for start-up only)."""
    found = []
    for agent in config.agents:
        candidates = {*DEMO_PASSWORDS, f"demo-{agent.id}-1234"}
        if any(check_password_hash(agent.password_hash, p) for p in sorted(candidates)):
            found.append(agent.id)
    return found


def new_api_token() -> tuple[str, str]:
    """(token to give the agent, SHA-256 hex to put in agents.yaml as api_token_sha256)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agent_for_token(
    config: AgentsConfig, shared_token: str | None, token: str, claimed_agent: str | None,
    shared_agent: str | None = None,
) -> tuple[bool, Agent | None]:
    """(authenticated, agent). A per-agent token acts as its own agent only. The shared token
    (``IVR_AGENT_API_TOKEN``) acts only as the one agent it is configured for
    (``IVR_AGENT_API_AGENT``), else as nobody (read-only); naming another agent is refused."""
    if not token:
        return False, None
    digest = token_digest(token)
    for agent in config.agents:
        if agent.api_token_sha256 and hmac.compare_digest(agent.api_token_sha256, digest):
            if claimed_agent and claimed_agent != agent.id:
                return False, None
            return True, agent
    if shared_token and hmac.compare_digest(shared_token.encode(), token.encode()):
        if claimed_agent and claimed_agent != shared_agent:
            return False, None
        return True, config.agent(shared_agent) if shared_agent else None
    return False, None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode())
