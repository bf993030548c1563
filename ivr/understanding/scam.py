"""Scam detector (pure): transcript -> ScamResult, from the weighted lexicon in config/scam.yaml.

Why two Aho-Corasick automata: one scans the Chinese text (exact wording, any number of phrases in
one pass), the other scans the folded pinyin syllable string (" an quan zan fu ") so accented
speech and ASR near-homophones (安全站户, 安全帐户) hit the same phrase. Spaces around every
syllable keep matches on syllable boundaries. Scoring is a deterministic sum, so the same words
always give the same score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from ivr.understanding.pinyin import char_syllable, clean_text, normalise_syllable, tokens
from ivr.understanding.scam_config import ScamLexicon

_ALL_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
Position = tuple[int, int]  # (utterance number, char offset): order of first appearance


@dataclass(frozen=True)
class ScamResult:
    is_risk: bool
    category: str | None
    score: float
    matched: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    counters: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"is_risk": self.is_risk, "category": self.category, "score": self.score,
                "matched": list(self.matched)}


@dataclass(frozen=True)
class _Entry:
    text: str
    counter: bool
    weights: dict[str, float]  # risk phrase: category -> weight; counter: category -> penalty


class ScamDetector:
    """Build once per lexicon version; ``check`` is cheap and thread-safe (read-only state)."""

    def __init__(self, lexicon: ScamLexicon) -> None:
        self.lexicon = lexicon
        self.pairs = frozenset(lexicon.confusions)
        self.categories: tuple[str, ...] = tuple(lexicon.categories)
        self._rank = {c: i for i, c in enumerate(self.categories)}
        self._char_cache: dict[str, str] = {}
        entries: dict[str, _Entry] = {}
        use_pinyin: dict[str, bool] = {}
        for name, cat in lexicon.categories.items():
            for text, spec in cat.phrases.items():
                key = clean_text(text)
                entry = entries.setdefault(key, _Entry(text, False, {}))
                entry.weights[name] = spec.weight
                n_syl = len(tokens(key))
                wanted = spec.pinyin if spec.pinyin is not None else (
                    n_syl >= lexicon.pinyin_min_syllables)
                use_pinyin[key] = use_pinyin.get(key, False) or wanted
        for counter in lexicon.counter_phrases:
            key = clean_text(counter.text)
            cats = counter.categories or list(self.categories)
            entry = entries.setdefault(key, _Entry(counter.text, True, {}))
            for c in cats:
                entry.weights[c] = entry.weights.get(c, 0.0) + counter.weight
            use_pinyin[key] = len(tokens(key)) >= lexicon.pinyin_min_syllables
        self._entries = list(entries.values())
        self._positive = [frozenset(c for c, w in e.weights.items() if w > 0 and not e.counter)
                          for e in self._entries]
        self._index = {key: i for i, key in enumerate(entries)}
        self._han = ahocorasick.Automaton()
        self._py = ahocorasick.Automaton()
        for key, i in self._index.items():
            self._han.add_word(key, (i, len(key)))
            if use_pinyin[key]:
                py = self._pinyin_string(key)
                self._py.add_word(py, (i, len(py)))
        self._han.make_automaton()
        if len(self._py):
            self._py.make_automaton()
        # entries whose text lies inside another's: '交保证金' also satisfies a boost on '保证金'
        self._implied = {
            i: frozenset(j for k, j in self._index.items() if k != key and k in key)
            for key, i in self._index.items()
        }
        self._boosts = {
            name: [([frozenset(self._index[clean_text(t)] for t in g) for g in b.when], b.add)
                   for b in cat.boosts]
            for name, cat in lexicon.categories.items()
        }

    @property
    def phrase_count(self) -> int:
        return len(self._entries)

    def _pinyin_string(self, cleaned: str) -> str:
        return " " + " ".join(normalise_syllable(t.syllable, self.pairs)
                              for t in tokens(cleaned)) + " "

    def hits(self, text: str, utterance: int = 0) -> dict[int, Position]:
        """Lexicon entries heard in one text (nested matches inside a longer one dropped)."""
        cleaned = clean_text(text)
        if not cleaned:
            return {}
        found: dict[int, Position] = {}
        spans = [(end - n + 1, end + 1, i) for end, (i, n) in self._han.iter(cleaned)]
        for start, _end, i in _outermost(spans):
            found.setdefault(i, (utterance, start))
        if len(self._py):
            syls, starts = self._syllables(cleaned)
            py = " " + " ".join(syls) + " "
            # offsets[k]: index in `py` of the space before syllable k (where a hit on k starts)
            offsets, pos = [], 0
            for syl in syls:
                offsets.append(pos)
                pos += len(syl) + 1
            spans = [(end - n + 1, end + 1, i) for end, (i, n) in self._py.iter(py)]
            for start, _end, i in _outermost(spans):
                k = _bisect(offsets, start)
                char = starts[k] if k < len(starts) else len(cleaned)
                if i not in found or found[i] > (utterance, char):
                    found[i] = (utterance, char)
        return found

    def _syllables(self, cleaned: str) -> tuple[list[str], list[int] | range]:
        """Folded syllables and their char offsets; all-Chinese text skips the tokenizer."""
        if _ALL_HAN.fullmatch(cleaned):
            cache = self._char_cache
            syls = []
            for ch in cleaned:
                syl = cache.get(ch)
                if syl is None:
                    syl = cache[ch] = normalise_syllable(char_syllable(ch), self.pairs)
                syls.append(syl)
            return syls, range(len(cleaned))
        toks = tokens(cleaned)
        return [normalise_syllable(t.syllable, self.pairs) for t in toks], [t.start for t in toks]

    def check(self, text: str) -> ScamResult:
        """Score one utterance (partial or final transcript)."""
        return self.score(self.hits(text))

    def score(self, hits: Mapping[int, Position]) -> ScamResult:
        """Deterministic score of a set of hits (one utterance or a whole call)."""
        risk = {i for i in hits if not self._entries[i].counter}
        counters = [i for i in hits if self._entries[i].counter]
        order = sorted(counters, key=lambda i: (hits[i], i))
        counter_texts = [self._entries[i].text for i in order]
        cats: set[str] = set()
        for i in risk:
            cats |= self._positive[i]
        touched = [c for c in self.categories if c in cats]
        if not touched:
            return ScamResult(False, None, 0.0, [], {}, counter_texts)
        own = {c: self._category_score(c, risk, counters) for c in touched}
        top = max(touched, key=lambda c: (own[c], -self._rank[c]))
        rest = risk - {i for i in risk if top in self._entries[i].weights}
        others = sum(self._category_score(c, rest, counters) for c in touched if c != top)
        total = round(own[top] + self.lexicon.secondary_weight * others, 4)
        is_risk = total >= self.lexicon.threshold and own[top] > 0
        used = self._contributing(risk)
        matched = [self._entries[i].text for i in sorted(used, key=lambda i: (hits[i], i))]
        return ScamResult(
            is_risk=is_risk,
            category=top if is_risk else None,
            score=total,
            matched=matched,
            scores={c: round(v, 4) for c, v in own.items() if v > 0},
            counters=counter_texts,
        )

    def _category_score(self, cat: str, risk: set[int], counters: list[int]) -> float:
        total = sum(self._entries[i].weights.get(cat, 0.0) for i in risk)
        if total <= 0:
            return 0.0
        heard = self._expand(risk)
        for groups, add in self._boosts[cat]:
            if all(g & heard for g in groups):
                total += add
        total -= sum(self._entries[i].weights.get(cat, 0.0) for i in counters)
        return max(0.0, total)

    def _contributing(self, risk: set[int]) -> set[int]:
        """Phrases with weight, plus zero-weight context words that completed a boost."""
        used = {i for i in risk if any(w > 0 for w in self._entries[i].weights.values())}
        heard = self._expand(risk)
        for boosts in self._boosts.values():
            for groups, _add in boosts:
                if all(g & heard for g in groups):
                    for g in groups:
                        used |= g & risk
        return used

    def _expand(self, risk: set[int]) -> set[int]:
        out = set(risk)
        for i in risk:
            out |= self._implied[i]
        return out


class CallScamTracker:
    """Accumulates one call's utterances so words said across several of them count once each.

    Partial transcripts replace each other until the final one arrives; the tail of the previous
    final is prepended so a phrase cut by an utterance boundary is still found.
    """

    def __init__(self, detector: ScamDetector, tail_chars: int = 8) -> None:
        self.detector = detector
        self.tail_chars = tail_chars
        self._final: dict[int, Position] = {}
        self._partial: dict[int, Position] = {}
        self._tail = ""
        self._count = 0
        self.result = ScamResult(False, None, 0.0, [])

    def feed(self, text: str, final: bool = True) -> ScamResult:
        hits = self.detector.hits(self._tail + clean_text(text), self._count)
        if final:
            for i, pos in hits.items():
                self._final.setdefault(i, pos)
            self._partial = {}
            self._tail = clean_text(text)[-self.tail_chars:]
            self._count += 1
        else:
            self._partial = hits
        merged = dict(self._partial)
        merged.update(self._final)
        self.result = self.detector.score(merged)
        return self.result


def _outermost(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Drop matches lying inside a longer match ('验证码' inside '验证码收不到')."""
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, int]] = []
    reach = -1  # furthest end of any earlier span; earlier spans start no later than this one
    for s in spans:
        if s[1] <= reach:
            continue
        out.append(s)
        reach = s[1]
    return out


def _bisect(offsets: list[int], value: int) -> int:
    lo, hi = 0, len(offsets)
    while lo < hi:
        mid = (lo + hi) // 2
        if offsets[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo
