"""Agent authentication: passwords (werkzeug hashes), API bearer tokens, CSRF tokens, throttling.

Passwords live only as hashes in config/agents.yaml. API tokens are either the shared
``IVR_AGENT_API_TOKEN`` (Settings.agent_api_token; the request names the agent) or per-agent
tokens whose SHA-256 is in agents.yaml (random tokens, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.routing.agents_config import Agent, AgentsConfig

MAX_FAILURES = 10  # failed logins per agent id within the window before a lockout
FAILURE_WINDOW = 300


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


def new_api_token() -> tuple[str, str]:
    """(token to give the agent, SHA-256 hex to put in agents.yaml as api_token_sha256)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agent_for_token(
    config: AgentsConfig, shared_token: str | None, token: str, claimed_agent: str | None
) -> tuple[bool, Agent | None]:
    """(authenticated, agent). A per-agent token names its agent; the shared token acts for
    the agent the request claims (or for nobody, read-only)."""
    if not token:
        return False, None
    digest = token_digest(token)
    for agent in config.agents:
        if agent.api_token_sha256 and hmac.compare_digest(agent.api_token_sha256, digest):
            return True, agent
    if shared_token and hmac.compare_digest(shared_token.encode(), token.encode()):
        return True, config.agent(claimed_agent) if claimed_agent else None
    return False, None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(expected.encode(), given.encode())


class LoginThrottle:
    """Counts failed logins per agent id in Redis, so a password cannot be guessed online."""

    def __init__(self, redis_client: redis.Redis):
        self.r = redis_client

    @staticmethod
    def key(agent_id: str) -> str:
        return f"ivr:{{auth}}:fail:{agent_id[:64]}"

    def locked(self, agent_id: str) -> bool:
        return int(self.r.get(self.key(agent_id)) or 0) >= MAX_FAILURES

    def failed(self, agent_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.incr(self.key(agent_id))
        pipe.expire(self.key(agent_id), FAILURE_WINDOW)
        pipe.execute()

    def succeeded(self, agent_id: str) -> None:
        self.r.delete(self.key(agent_id))
