"""Schema of one dialect grammar file (grammars/<dialect>.yaml): intents -> spoken phrases.

Why a file per dialect: admins add the wordings their callers really use (四川话 啥子/咋个, 粤语
唔该/冇) and choose which accent confusions to forgive, without touching code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.understanding.pinyin import clean_text, syllables

ConfusionPair = Literal[
    "n/l", "f/h", "z/zh", "c/ch", "s/sh", "r/l",
    "an/ang", "en/eng", "in/ing", "ian/iang", "uan/uang",
]
INTENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
VOSK_UNKNOWN = "[unk]"


class Phrase(BaseModel):
    """One way of saying an intent; dialect wordings may note the Mandarin they stand for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    mandarin: str | None = Field(None, description="Mandarin equivalent of a dialect wording")
    whole: bool = Field(False, description="Counts only as the whole utterance (short answers)")

    @field_validator("text", "mandarin")
    @classmethod
    def _speakable(cls, value: str | None) -> str | None:
        if value is not None and not syllables(value):
            raise ValueError(f"{value!r} has no speakable characters")
        return value


class IntentModelSettings(BaseModel):
    """How the trained intent model joins this grammar's matcher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    threshold: float = Field(0.4, gt=0.0, le=1.0, description="Model probability that acts")
    # 0.5: none outweighs every intent of the step together (chosen on the intents valid split)
    none_override: float = Field(
        0.5, gt=0.0, le=1.0,
        description="Model sure it is none (人工智能, 余额宝) overrides a grammar hit")


class Grammar(BaseModel):
    """Intents and phrases of one dialect, the accent pairs to forgive, and the match threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Display name, e.g. 普通话")
    confusions: list[ConfusionPair] = Field(default_factory=list)
    threshold: float = Field(0.75, gt=0.0, le=1.0)
    tie_margin: float = Field(0.05, ge=0.0, le=0.5)
    intents: dict[str, list[Phrase]]
    model: IntentModelSettings = Field(default_factory=IntentModelSettings)

    @field_validator("intents", mode="before")
    @classmethod
    def _phrases_as_objects(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        # YAML 1.1 reads a bare `yes:`/`no:` key as a boolean; admins mean the intents.
        value = {({True: "yes", False: "no"}[k] if isinstance(k, bool) else k): v
                 for k, v in value.items()}
        return {
            k: [{"text": p} if isinstance(p, str) else p for p in v] if isinstance(v, list) else v
            for k, v in value.items()
        }

    @field_validator("intents")
    @classmethod
    def _check_intents(cls, value: dict[str, list[Phrase]]) -> dict[str, list[Phrase]]:
        if not value:
            raise ValueError("at least one intent is needed")
        seen: dict[str, str] = {}
        for intent, phrases in value.items():
            if not INTENT_RE.match(intent):
                raise ValueError(f"intent id {intent!r} must be lower-case ascii (a-z, 0-9, _)")
            if not phrases:
                raise ValueError(f"intent {intent!r} has no phrases")
            for p in phrases:
                key = clean_text(p.text)
                other = seen.setdefault(key, intent)
                if other != intent:
                    raise ValueError(f"phrase {p.text!r} is in both {other!r} and {intent!r}")
        return value

    @model_validator(mode="after")
    def _unique_confusions(self) -> Grammar:
        if len(set(self.confusions)) != len(self.confusions):
            raise ValueError("confusions lists a pair twice")
        return self

    def phrases(self, intent: str) -> list[str]:
        return [p.text for p in self.intents[intent]]

    def vosk_phrases(self, intents: Iterable[str]) -> list[str]:
        """Phrase list for a Vosk grammar limited to one menu node's intents, plus "[unk]".

        Dialect wordings come with their Mandarin equivalent, since the acoustic model is
        Mandarin and may only know the latter's words.
        """
        wanted = list(intents)
        unknown = [i for i in wanted if i not in self.intents]
        if unknown:
            raise ValueError(f"intents not in grammar {self.name}: {unknown}")
        out: list[str] = []
        for intent in wanted:
            for p in self.intents[intent]:
                for text in (p.text, p.mandarin):
                    if text and text not in out:
                        out.append(text)
        out.append(VOSK_UNKNOWN)
        return out


def load_grammar(path: str | Path) -> Grammar:
    """Read one grammar file (no cross-file checks; the config loader does those)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return Grammar.model_validate(data)


def load_grammars(directory: str | Path) -> dict[str, Grammar]:
    """All grammars of a folder, keyed by file stem (the dialect id)."""
    return {p.stem: load_grammar(p) for p in sorted(Path(directory).glob("*.yaml"))}
