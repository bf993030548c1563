"""Console login state in Redis: failed-login throttling and server-side agent sessions.

Throttling counts failures per client address, per (agent id, address) and per agent id, in one
Lua script (atomic: parallel guesses cannot slip between the check and the count). An address is
locked after a few failures whatever ids it tries (no password spraying); one address cannot lock
an agent out for everyone (the per-id lock needs many failures, i.e. many addresses).

Sessions: the signed cookie carries only a random session id; the session itself lives in Redis
with a lifetime, so logout, a password change (the stored password fingerprint no longer
matches) or an expiry ends it on every worker at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import redis

PREFIX = "ivr:{auth}:"

# Lua: KEYS = counters (address, id+address, id); ARGV = window seconds, then the limits.
# mode "check": 1 if any counter is at its limit. mode "fail": count, then the same answer.
_THROTTLE = """
local window = tonumber(ARGV[2])
if ARGV[1] == 'fail' then
  for i = 1, #KEYS do
    local n = redis.call('INCR', KEYS[i])
    if n == 1 then redis.call('EXPIRE', KEYS[i], window) end
  end
end
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 + i]) then return 1 end
end
return 0
"""


@dataclass(frozen=True)
class ThrottleLimits:
    per_address: int = 20
    per_agent_address: int = 5
    per_agent: int = 100
    window_seconds: int = 900


class LoginThrottle:
    """Failed logins by address, by (id, address) and by id; atomic in Redis."""

    def __init__(self, redis_client: redis.Redis, limits: ThrottleLimits = ThrottleLimits()):
        self.r = redis_client
        self.limits = limits
        self._script = redis_client.register_script(_THROTTLE)

    def _keys(self, agent_id: str, address: str) -> list[str]:
        aid, addr = agent_id[:64], address[:64]
        return [f"{PREFIX}fail:addr:{addr}", f"{PREFIX}fail:pair:{aid}:{addr}",
                f"{PREFIX}fail:id:{aid}"]

    def _run(self, mode: str, agent_id: str, address: str) -> bool:
        lim = self.limits
        return bool(self._script(keys=self._keys(agent_id, address),
                                 args=[mode, lim.window_seconds, lim.per_address,
                                       lim.per_agent_address, lim.per_agent]))

    def locked(self, agent_id: str, address: str) -> bool:
        return self._run("check", agent_id, address)

    def failed(self, agent_id: str, address: str) -> bool:
        """Count a failure; True if this client is now locked out."""
        return self._run("fail", agent_id, address)

    def succeeded(self, agent_id: str, address: str) -> None:
        """A right password clears this pair's count (not the address's or the id's)."""
        self.r.delete(self._keys(agent_id, address)[1])


def password_fingerprint(password_hash: str) -> str:
    """Changes when the agent's password changes; stored with the session (not a secret)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AgentSession:
    sid: str
    agent: str
    fingerprint: str
    created: float


class AgentSessions:
    """Server-side console sessions with a lifetime; the cookie holds only ``sid``."""

    def __init__(self, redis_client: redis.Redis, lifetime_seconds: int):
        self.r = redis_client
        self.lifetime = int(lifetime_seconds)

    @staticmethod
    def key(sid: str) -> str:
        return f"{PREFIX}session:{sid}"

    @staticmethod
    def agent_key(agent_id: str) -> str:
        return f"{PREFIX}agent-sessions:{agent_id}"

    def create(self, agent_id: str, password_hash: str) -> str:
        sid = secrets.token_urlsafe(32)
        body = json.dumps({"agent": agent_id, "fp": password_fingerprint(password_hash),
                           "created": time.time()})
        pipe = self.r.pipeline(transaction=True)
        pipe.set(self.key(sid), body, ex=self.lifetime)
        pipe.sadd(self.agent_key(agent_id), sid)
        pipe.expire(self.agent_key(agent_id), self.lifetime)
        pipe.execute()
        return sid

    def get(self, sid: str | None) -> AgentSession | None:
        if not sid or len(sid) > 100:
            return None
        raw = self.r.get(self.key(sid))
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return AgentSession(sid, str(data["agent"]), str(data["fp"]), float(data["created"]))
        except (ValueError, KeyError, TypeError):
            return None

    def valid_for(self, sid: str | None, password_hash_of: dict[str, str]) -> str | None:
        """The agent id if the session exists and the agent's password has not changed since
        (``password_hash_of``: agent id -> current hash); a stale session is deleted."""
        sess = self.get(sid)
        if sess is None:
            return None
        current = password_hash_of.get(sess.agent)
        if current is None or password_fingerprint(current) != sess.fingerprint:
            self.end(sess.sid)
            return None
        return sess.agent

    def end(self, sid: str | None) -> None:
        sess = self.get(sid)
        if sess is None:
            return
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.key(sess.sid))
        pipe.srem(self.agent_key(sess.agent), sess.sid)
        pipe.execute()

    def end_all(self, agent_id: str) -> int:
        """End every session of an agent (e.g. after `ivr agents set-password`)."""
        sids = self.r.smembers(self.agent_key(agent_id))
        pipe = self.r.pipeline(transaction=True)
        for sid in sids:
            pipe.delete(self.key(sid))
        pipe.delete(self.agent_key(agent_id))
        pipe.execute()
        return len(sids)
