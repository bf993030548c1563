"""Schema of config/scam.yaml: scam categories, weighted phrases, boosts, counter-phrases, warnings.

Why weights and counter-phrases rather than a word list: a caller asking about their own 退保 or a
验证码 that never arrived must not be treated as a victim, while "a policeman wants my money in a
安全账户" must be caught on its own. Admins tune the numbers; the detector stays generic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.understanding.grammar_config import ConfusionPair
from ivr.understanding.pinyin import CONFUSION_PAIRS, clean_text, syllables

CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScamPhrase(Strict):
    """A phrase's weight in its category; weight 0 marks context words used only by boosts."""

    weight: float = Field(ge=0.0, le=5.0)
    pinyin: bool | None = Field(
        None, description="Also match by folded pinyin (default: phrases of >= 3 syllables)"
    )


class Boost(Strict):
    """Adds ``add`` when every group has at least one of its phrases in the text."""

    when: list[list[str]] = Field(min_length=1)
    add: float = Field(gt=0.0, le=5.0)

    @field_validator("when")
    @classmethod
    def _groups(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not group for group in value):
            raise ValueError("a boost group is empty")
        return value


class Category(Strict):
    label: str = Field(min_length=1, description="Shown to agents, e.g. 冒充公检法")
    phrases: dict[str, ScamPhrase] = Field(min_length=1)
    boosts: list[Boost] = Field(default_factory=list)

    @field_validator("phrases", mode="before")
    @classmethod
    def _numbers_as_weights(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"weight": v} if isinstance(v, int | float) else v for k, v in value.items()}
        return value


class CounterPhrase(Strict):
    """Wording of a normal request that lowers the score of the listed categories (all if empty)."""

    text: str = Field(min_length=1)
    weight: float = Field(gt=0.0, le=5.0)
    categories: list[str] = Field(default_factory=list)


class ScamModelSettings(Strict):
    """How the trained model's probability joins the lexicon (per deployment)."""

    enabled: bool = True
    threshold: float = Field(0.6, gt=0.0, le=1.5, description="Evidence that warns the caller")
    lexicon_bonus: float = Field(
        0.2, ge=0.0, le=1.0,
        description="Added to the model probability at full lexicon score (scaled below it)")
    lexicon_alone: bool = Field(True, description="A lexicon score >= threshold fires by itself")
    window: int = Field(3, ge=1, le=10, description="Final utterances scored together")
    min_chars: int = Field(8, ge=1, description="Fewer characters heard: the model never fires")
    partial_margin: float = Field(
        0.1, ge=0.0, le=1.0, description="Extra evidence a partial transcript needs to fire")


class ScamLexicon(Strict):
    threshold: float = Field(1.0, gt=0.0)
    secondary_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of other categories' evidence added to the top one"
    )
    pinyin_min_syllables: int = Field(3, ge=1)
    confusions: list[ConfusionPair] = Field(default_factory=lambda: list(CONFUSION_PAIRS))
    categories: dict[str, Category] = Field(min_length=1)
    counter_phrases: list[CounterPhrase] = Field(default_factory=list)
    warnings: dict[str, str] = Field(description="dialect id -> calm warning prompt")
    model: ScamModelSettings = Field(default_factory=ScamModelSettings)

    @model_validator(mode="after")
    def _cross_checks(self) -> ScamLexicon:
        for name, cat in self.categories.items():
            if not CATEGORY_RE.match(name):
                raise ValueError(f"category id {name!r} must be lower-case ascii")
            for text in cat.phrases:
                if not syllables(text):
                    raise ValueError(f"{name}: phrase {text!r} has no speakable characters")
        known = {clean_text(t) for c in self.categories.values() for t in c.phrases}
        for name, cat in self.categories.items():
            for i, boost in enumerate(cat.boosts):
                for group in boost.when:
                    missing = [t for t in group if clean_text(t) not in known]
                    if missing:
                        raise ValueError(
                            f"{name}.boosts.{i}: {missing} are not phrases of any category"
                        )
        for i, counter in enumerate(self.counter_phrases):
            if clean_text(counter.text) in known:
                raise ValueError(f"counter_phrases.{i}: {counter.text!r} is also a risk phrase")
            bad = [c for c in counter.categories if c not in self.categories]
            if bad:
                raise ValueError(f"counter_phrases.{i}: unknown categories {bad}")
        if "mandarin" not in self.warnings or not self.warnings["mandarin"].strip():
            raise ValueError("warnings.mandarin is required (the fallback for every dialect)")
        return self

    def warning(self, dialect: str) -> str:
        """The warning in the caller's dialect, else Mandarin."""
        return self.warnings.get(dialect) or self.warnings["mandarin"]

    def label(self, category: str | None) -> str:
        return self.categories[category].label if category in self.categories else ""


def load_lexicon(path: str | Path) -> ScamLexicon:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return ScamLexicon.model_validate(data)
