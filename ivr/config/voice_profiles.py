"""Voice profiles (voices/profiles.yaml): voice, rate, volume and pauses per dialect and mode.

Elderly callers need slower speech than a default synthetic voice, and `#` moves a caller one step
slower, so every dialect has the three modes ordered fastest to slowest. A dialect without its own
engine voice (sichuanese: espeak-ng has none) borrows the fallback dialect's voice and settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ivr.config.errors import ConfigError, ConfigProblem, problems_from_validation

Mode = Literal["normal", "elder", "elder_slower"]
MODES: tuple[Mode, ...] = ("normal", "elder", "elder_slower")  # fastest to slowest


def next_slower(mode: str) -> Mode:
    """The mode one step slower than ``mode`` (the slowest stays where it is); for `#`."""
    if mode not in MODES:
        raise ValueError(f"unknown voice mode {mode!r}")
    return MODES[min(MODES.index(mode) + 1, len(MODES) - 1)]


class ModeSettings(BaseModel):
    """How one mode sounds. ``voice`` overrides the dialect's voice for this mode only."""

    model_config = ConfigDict(extra="forbid")

    voice: str | None = None
    rate: int = Field(ge=80, le=450, description="pyttsx3/espeak-ng words-per-minute setting")
    volume: float = Field(default=1.0, gt=0.0, le=1.0)
    pause_ms: int = Field(default=500, ge=0, le=5000, description="silence between menu options")
    target_cpm: tuple[int, int] = Field(description="wanted Chinese characters per minute")

    @model_validator(mode="after")
    def _range_ordered(self) -> ModeSettings:
        low, high = self.target_cpm
        if not 0 < low <= high:
            raise ValueError("target_cpm must be [low, high] with 0 < low <= high")
        return self


class DialectVoice(BaseModel):
    """One dialect: its engine voice and the settings of each mode (missing parts fall back)."""

    model_config = ConfigDict(extra="forbid")

    voice: str | None = None
    modes: dict[Mode, ModeSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _slower_is_slower(self) -> DialectVoice:
        rates = [self.modes[m].rate for m in MODES if m in self.modes]
        if any(a <= b for a, b in zip(rates, rates[1:], strict=False)):
            raise ValueError("rates must fall strictly from normal to elder to elder_slower")
        return self


class VoiceProfile(BaseModel):
    """A resolved profile: everything the renderer needs, plus the names it was chosen by."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dialect: str
    mode: Mode
    voice: str
    rate: int
    volume: float
    pause_ms: int
    target_cpm: tuple[int, int]

    def audio_fields(self) -> dict[str, object]:
        """Only what changes the audio: two dialects sharing a voice share rendered files."""
        return {"voice": self.voice, "rate": self.rate, "volume": self.volume,
                "pause_ms": self.pause_ms}


class VoiceProfiles(BaseModel):
    """The whole voices/profiles.yaml file."""

    model_config = ConfigDict(extra="forbid")

    fallback_dialect: str = "mandarin"
    dialects: dict[str, DialectVoice]

    @model_validator(mode="after")
    def _fallback_complete(self) -> VoiceProfiles:
        base = self.dialects.get(self.fallback_dialect)
        if base is None:
            raise ValueError(f"fallback_dialect {self.fallback_dialect!r} is not in dialects")
        missing = [m for m in MODES if m not in base.modes]
        if not base.voice and any(not base.modes[m].voice for m in MODES if m in base.modes):
            raise ValueError(f"fallback dialect {self.fallback_dialect!r} needs a voice")
        if missing:
            raise ValueError(f"fallback dialect {self.fallback_dialect!r} lacks modes {missing}")
        return self

    def profile(self, dialect: str, mode: str) -> VoiceProfile:
        """Resolve (dialect, mode); unknown dialects and missing parts use the fallback dialect."""
        if mode not in MODES:
            raise ValueError(f"unknown voice mode {mode!r}")
        m: Mode = MODES[MODES.index(mode)]  # type: ignore[arg-type]
        base = self.dialects[self.fallback_dialect]
        own = self.dialects.get(dialect, base)
        settings = own.modes.get(m) or base.modes[m]
        voice = settings.voice or own.voice or base.modes[m].voice or base.voice
        assert voice  # guaranteed by _fallback_complete
        return VoiceProfile(
            dialect=dialect, mode=m, voice=voice, rate=settings.rate, volume=settings.volume,
            pause_ms=settings.pause_ms, target_cpm=settings.target_cpm,
        )

    def all_profiles(self) -> list[VoiceProfile]:
        """Every configured dialect in every mode, in file order then fastest to slowest."""
        return [self.profile(d, m) for d in self.dialects for m in MODES]


def load_profiles(path: str | Path) -> VoiceProfiles:
    """Read and validate profiles.yaml; raises ConfigError with file/key/reason for an admin."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([ConfigProblem(str(path), "", str(exc))]) from exc
    try:
        return VoiceProfiles.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(path, exc)) from exc
