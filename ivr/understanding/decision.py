"""Final decisions: grammar + intent model, lexicon + scam model over the whole call (pure).

Why combine rather than replace: the grammar's exact and accent-folded phrases are precise and
admins extend them the same day; the model understands paraphrases nobody wrote down. Likewise
the scam lexicon explains a hit in the agent's words and takes a new wording at once, while the
model hears a story told without any textbook keyword. Live calls, `ivr understand` and
`ivr scam-check` all go through these classes, so what an admin replays is what a caller gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ivr.understanding.features import units
from ivr.understanding.intents import IntentMatcher, strip_fillers
from ivr.understanding.pinyin import clean_text
from ivr.understanding.scam import CallScamTracker, ScamDetector, ScamResult
from ivr.understanding.scam_config import ScamModelSettings
from ivr.understanding.textmodel import Contribution, TextModel

NONE = "none"
LEGIT = "legit"


def shown(contribution: Contribution, text: str) -> str:
    """An n-gram as the agent reads it: pinyin grams are shown as the characters they came from."""
    kind, _, body = contribution.feature.partition(":")
    if kind != "p":
        return contribution.shown
    want = [s for s in body.split(" ") if s not in ("^", "$")]
    chars, syls = units(text)
    for i in range(len(syls) - len(want) + 1):
        if syls[i:i + len(want)] == want:
            return "".join(chars[i:i + len(want)])
    return contribution.shown


# ---------------------------------------------------------------------- intents
@dataclass(frozen=True)
class IntentDecision:
    intent: str | None
    source: str  # grammar | model | model_none | none
    score: float
    phrase: str | None = None
    why: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "source": self.source, "score": round(self.score, 4),
                "phrase": self.phrase, "why": list(self.why)}


class IntentDecider:
    """One dialect's grammar matcher with the shared intent model."""

    def __init__(self, matcher: IntentMatcher, model: TextModel | None) -> None:
        self.matcher = matcher
        self.settings = matcher.grammar.model
        self.model = model if self.settings.enabled else None

    def decide(self, text: str, allowed: Iterable[str] | None = None) -> IntentDecision:
        wanted = None if allowed is None else list(allowed)
        match = self.matcher.match(text, wanted)
        if self.model is None:
            return self._grammar_only(match)
        if not len(self.model.vector(text)[0]):  # no n-gram the model knows
            return self._grammar_only(match)
        proba = self.model.proba(text)
        known = set(self.model.classes)
        pool = [c for c in (wanted if wanted is not None else self.model.classes)
                if c in known and c != NONE]
        p_none = proba.get(NONE, 0.0)
        mass = p_none + sum(proba[c] for c in pool)
        if match.intent is not None:
            # the grammar heard a phrase; a model sure of "none" overrides it only when the phrase
            # sits inside longer words (人工智能, 余额宝), never when it is the whole answer (莫得)
            whole = len(strip_fillers(clean_text(text))) <= len(clean_text(match.phrase or ""))
            if not whole and mass > 0 and p_none / mass >= self.settings.none_override:
                return IntentDecision(None, "model_none", p_none / mass, None,
                                      self._why(text, NONE))
            return IntentDecision(match.intent, "grammar", match.score, match.phrase,
                                  [match.phrase or ""])
        if not pool or mass <= 0:
            return IntentDecision(None, "none", match.score)
        best = max(pool, key=lambda c: proba[c])
        p = proba[best] / mass  # probability among what this menu step can mean
        if p >= self.settings.threshold and proba[best] > p_none:
            return IntentDecision(best, "model", p, None, self._why(text, best))
        return IntentDecision(None, "none", p)

    @staticmethod
    def _grammar_only(match) -> IntentDecision:
        if match.intent is None:
            return IntentDecision(None, "none", match.score)
        return IntentDecision(match.intent, "grammar", match.score, match.phrase,
                              [match.phrase or ""])

    def _why(self, text: str, cls: str) -> list[str]:
        assert self.model is not None
        top = self.model.explain(text, cls, k=3, min_units=2) or self.model.explain(text, cls, k=3)
        return list(dict.fromkeys(shown(c, text) for c in top))


# ---------------------------------------------------------------------- scam
@dataclass(frozen=True)
class ScamDecision:
    is_risk: bool
    category: str | None
    score: float  # combined evidence compared with the threshold
    probability: float  # model probability of a scam (best window)
    lexicon: ScamResult
    ngrams: list[str] = field(default_factory=list)
    reason: str = ""  # lexicon | model | model+lexicon | "" (no risk)

    @property
    def matched(self) -> list[str]:
        """What the agent reads: lexicon phrases first, then the model's strongest n-grams."""
        out = list(self.lexicon.matched)
        out += [g for g in self.ngrams if not any(g in m for m in out)]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"is_risk": self.is_risk, "category": self.category, "score": round(self.score, 4),
                "probability": round(self.probability, 4),
                "lexicon_score": self.lexicon.score, "matched": self.matched,
                "phrases": list(self.lexicon.matched), "ngrams": list(self.ngrams),
                "reason": self.reason}


class CallScamJudge:
    """One call's scam evidence: lexicon phrases accumulate over the call, the model scores the
    last few utterances joined (a story told in three sentences), partials need more evidence."""

    def __init__(self, detector: ScamDetector, model: TextModel | None,
                 settings: ScamModelSettings | None = None) -> None:
        self.detector = detector
        self.settings = settings or detector.lexicon.model
        self.model = model if self.settings.enabled and model is not None else None
        self.tracker = CallScamTracker(detector)
        self._finals: list[str] = []
        self.result = ScamDecision(False, None, 0.0, 0.0, self.tracker.result)

    def feed(self, text: str, final: bool = True) -> ScamDecision:
        lex = self.tracker.feed(text, final=final)
        cleaned = clean_text(text)
        if final and cleaned:
            self._finals.append(cleaned)
            self._finals = self._finals[-self.settings.window:]
            recent = list(self._finals)
        else:
            recent = [*self._finals[-(self.settings.window - 1):], cleaned] \
                if self.settings.window > 1 else [cleaned]
        self.result = self._decide(lex, [t for t in recent if t], final)
        return self.result

    def _decide(self, lex: ScamResult, recent: list[str], final: bool) -> ScamDecision:
        s = self.settings
        threshold = self.detector.lexicon.threshold
        lex_part = s.lexicon_bonus * min(1.0, lex.score / threshold) if threshold > 0 else 0.0
        prob, window = 0.0, ""
        if self.model is not None and recent:
            for k in range(1, len(recent) + 1):  # windows ending at the latest utterance
                joined = "".join(recent[-k:])
                if not len(self.model.vector(joined)[0]):
                    continue  # nothing the model knows: no evidence, not its prior
                p = 1.0 - self.model.proba(joined).get(LEGIT, 1.0)
                if p > prob:
                    prob, window = p, joined
        needed = s.threshold + (0.0 if final else s.partial_margin)
        thick = len(window) >= s.min_chars
        by_model = self.model is not None and thick and prob + lex_part >= needed
        by_lexicon = s.lexicon_alone and lex.is_risk
        score = prob + lex_part
        if not (by_model or by_lexicon):
            return ScamDecision(False, None, score, prob, lex)
        ngrams: list[str] = []
        category = lex.category if lex.is_risk else None
        if self.model is not None and window:
            proba = self.model.proba(window)
            model_cat = max((c for c in self.model.classes if c != LEGIT), key=proba.__getitem__)
            category = category or model_cat
            against = LEGIT if LEGIT in self.model.classes else None
            ngrams = list(dict.fromkeys(
                shown(c, window)
                for c in self.model.explain(window, model_cat, against, k=8, min_units=2)))[:5]
        reason = "model+lexicon" if by_model and by_lexicon else "model" if by_model else "lexicon"
        return ScamDecision(True, category, score, prob, lex, ngrams, reason)


def check_text(detector: ScamDetector, model: TextModel | None, text: str) -> ScamDecision:
    """One utterance judged alone, as a final transcript (what `ivr scam-check` prints)."""
    return CallScamJudge(detector, model).feed(text, final=True)
