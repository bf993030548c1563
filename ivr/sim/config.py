"""Settings of a simulation run (one place, so CLI, scenarios and tests agree on defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AgentConfig:
    """The simulated person who answers a <Dial>."""

    answer_after: float = 2.0  # ring time in seconds
    talk_seconds: float = 10.0  # then the agent hangs up
    answers: bool = True


@dataclass
class SimConfig:
    app_base: str = "http://127.0.0.1:5000"
    voice_path: str = "/voice/incoming"
    status_path: str | None = "/voice/status"  # None: no status callbacks
    account_sid: str = "AC00000000000000000000000000000000"
    auth_token: str = ""
    hotline: str = "+864008000000"  # the number callers dial (To)
    speed: float = 100.0  # virtual seconds per real second while waiting (1 = real time)
    chars_per_minute: float = 130.0  # <Say> speaking rate
    say_audio: bool = False  # render <Say> with espeak-ng and use its real length
    strict: bool = True
    count_latency: bool = True  # webhook round trips take virtual time too
    max_call_seconds: float = 1800.0
    hold_music_seconds: float = 30.0  # <Enqueue> without waitUrl: Twilio's default playlist
    # The number's Voice Fallback URL: fetched when a TwiML document cannot be had (connection
    # failure, timeout, HTTP error), with ErrorCode/ErrorUrl. None: the call ends (Twilio's
    # "an application error has occurred").
    fallback_url: str | None = None
    agent: AgentConfig = field(default_factory=AgentConfig)

    @property
    def voice_url(self) -> str:
        return self.app_base.rstrip("/") + self.voice_path

    @property
    def status_url(self) -> str | None:
        return self.app_base.rstrip("/") + self.status_path if self.status_path else None
