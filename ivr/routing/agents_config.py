"""config/agents.yaml: the agents (skills, endpoint, password hash) and the queue rules.

Passwords are stored only as werkzeug hashes (``ivr agents set-password ID`` makes one); per-agent
API tokens only as SHA-256 hex digests (``ivr agents new-token ID``), so the file can be committed.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.routing.rules import QueuePolicy

ID_RE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
CLIENT_RE = re.compile(r"^client:[A-Za-z0-9_.@-]{1,120}$")
HASH_PREFIXES = ("scrypt:", "pbkdf2:")


class Agent(BaseModel):
    """One human agent: who they are, what they can take, where their phone rings."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_RE)
    display_name: str = Field(min_length=1, max_length=64)
    password_hash: str
    skills: list[str] = Field(min_length=1, description="dialect ids, e.g. mandarin, cantonese")
    topics: list[str] = Field(default_factory=list)
    endpoint: str = Field(description="E.164 number '+86...' or Twilio Client 'client:<identity>'")
    api_token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("password_hash")
    @classmethod
    def _werkzeug_hash(cls, value: str) -> str:
        if not value.startswith(HASH_PREFIXES) or value.count("$") != 2:
            raise ValueError(
                "must be a werkzeug password hash (run `ivr agents set-password ID`)"
            )
        return value

    @field_validator("skills", "topics")
    @classmethod
    def _ascii_ids(cls, values: list[str]) -> list[str]:
        for v in values:
            if not re.match(r"^[a-z][a-z0-9_]{0,31}$", v):
                raise ValueError(f"{v!r} is not a short ascii id like 'cantonese'")
        return values

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not (E164_RE.match(value) or CLIENT_RE.match(value)):
            raise ValueError("must be an E.164 number like +8613912345678 or client:<identity>")
        return value

    @property
    def endpoint_kind(self) -> str:
        """'number' or 'client' (which TwiML noun <Dial> needs)."""
        return "client" if self.endpoint.startswith("client:") else "number"

    @property
    def endpoint_target(self) -> str:
        return self.endpoint.removeprefix("client:")


class QueueRules(BaseModel):
    """Queue behaviour; every number has a default so the section may be left out."""

    model_config = ConfigDict(extra="forbid")

    skill_wait_seconds: float = Field(60, ge=0, description="dialect-only offer, then anyone")
    aging_seconds_per_step: float = Field(
        600, gt=0, description="seconds of waiting worth one priority class (slow)"
    )
    callback_offer_after_seconds: float = Field(120, ge=0)
    hold_announcement_interval_seconds: float = Field(30, ge=5, le=600)
    average_handling_seconds: float = Field(240, gt=0, description="estimate before any data")
    hold_music_url: str | None = None
    reconcile_interval_seconds: float = Field(
        30, ge=1, le=3600, description="how often Twilio's queue and Redis are compared"
    )
    ghost_after_intervals: float = Field(
        3, ge=2, le=100,
        description="a waiting entry whose wait poll stopped for this many hold intervals and "
        "who is not in Twilio's queue is closed as abandoned",
    )

    def policy(self) -> QueuePolicy:
        """The pure ordering policy (ivr.routing.rules) these rules imply."""
        return QueuePolicy(
            skill_wait_seconds=self.skill_wait_seconds, aging_seconds=self.aging_seconds_per_step
        )


class AgentsConfig(BaseModel):
    """The whole of config/agents.yaml."""

    model_config = ConfigDict(extra="forbid")

    agents: list[Agent] = Field(default_factory=list)
    queue: QueueRules = Field(default_factory=QueueRules)

    @model_validator(mode="after")
    def _unique_ids(self) -> AgentsConfig:
        seen: set[str] = set()
        for a in self.agents:
            if a.id in seen:
                raise ValueError(f"agent id {a.id!r} appears twice")
            seen.add(a.id)
        return self

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.id == agent_id), None)
