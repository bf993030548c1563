"""The validated config bundle: every admin file, checked alone and against each other."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ivr.config.models import ElderConfig, MenuConfig, ServiceConfig
from ivr.config.voice_profiles import VoiceProfiles
from ivr.routing.agents_config import AgentsConfig
from ivr.understanding.grammar_config import Grammar
from ivr.understanding.scam_config import ScamLexicon


class Config(BaseModel):
    """What the running service uses; replaced whole on a good reload, never patched."""

    model_config = ConfigDict(frozen=True)

    version: str
    service: ServiceConfig
    menus: MenuConfig
    elders: ElderConfig
    agents: AgentsConfig
    scam: ScamLexicon
    voices: VoiceProfiles
    grammars: dict[str, Grammar]
