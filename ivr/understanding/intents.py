"""Accent-tolerant intent matching: transcript -> IntentMatch (pure, no I/O).

Why fuzzy pinyin: a small Mandarin ASR model hears an accented "找客服" as "早客户" and "人工" as
"仁工". Comparing toneless pinyin folded through the dialect's confusion pairs recovers these,
while ties and weak matches give ``intent=None`` ("not understood": re-prompt, then a human) so a
misheard caller is never sent down the wrong branch.

Scores: exact Chinese phrase inside the text = 1.0; same folded pinyin = 0.95; otherwise
0.95 * (1 - cost / len(phrase)) where cost is the cheapest syllable alignment of the phrase inside
the text (substitution 1, or 0.5 for syllables sharing initial or final; insertion/deletion 1).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ivr.understanding.grammar_config import Grammar
from ivr.understanding.pinyin import clean_text, normalise, normalise_syllable, tokens

PINYIN_EXACT = 0.95
NEAR_COST = 0.5
FILLER_CHARS = frozenset("啊呀吧嗯呢哦噢唉嘛哈啦喔诶欸哎咯嘞")
FILLER_WORDS = ("谢谢你", "谢谢", "那个", "麻烦你", "麻烦", "请问", "你好", "您好", "唔该晒")
# A phrase right after these words is refused, not obeyed ("我不要人工", "不想挂失了").
NEGATIONS = ("不要", "不用", "不想", "不需要", "别", "莫", "唔要", "唔使", "唔想")
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "z", "c", "s", "r", "y", "w")


@dataclass(frozen=True)
class IntentMatch:
    """Result of one utterance; ``intent`` None means not understood (see ``reason``)."""

    intent: str | None
    score: float
    phrase: str | None
    reason: str = "matched"  # matched | tie | low_score | empty


@dataclass(frozen=True)
class _Phrase:
    intent: str
    text: str
    cleaned: str
    syls: tuple[str, ...]
    whole: bool


@dataclass(frozen=True)
class _Hit:
    intent: str
    phrase: str
    score: float
    start: int
    end: int
    order: int


@lru_cache(maxsize=4096)
def _split(syl: str) -> tuple[str, str]:
    for ini in _INITIALS:
        if syl.startswith(ini) and len(syl) > len(ini):
            return ini, syl[len(ini):]
    return "", syl


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    (ia, fa), (ib, fb) = _split(a), _split(b)
    return NEAR_COST if (ia and ia == ib) or fa == fb else 1.0


def _align(phrase: tuple[str, ...], text: tuple[str, ...]) -> tuple[float, int, int]:
    """Cheapest alignment of the phrase anywhere in the text: (cost, start, end) in syllables."""
    n = len(text)
    prev = [0.0] * (n + 1)
    prev_start = list(range(n + 1))
    for i, p in enumerate(phrase, 1):
        cur = [float(i)] + [0.0] * n
        cur_start = [0] * (n + 1)
        for j in range(1, n + 1):
            best, start = prev[j - 1] + _sub_cost(p, text[j - 1]), prev_start[j - 1]
            if prev[j] + 1 < best:  # phrase syllable missing from the text
                best, start = prev[j] + 1, prev_start[j]
            if cur[j - 1] + 1 < best:  # extra syllable in the text
                best, start = cur[j - 1] + 1, cur_start[j - 1]
            cur[j], cur_start[j] = best, start
        prev, prev_start = cur, cur_start
    end = min(range(n + 1), key=lambda j: (prev[j], j))
    return prev[end], prev_start[end], end


def _negated(cleaned: str, at: int) -> bool:
    before = cleaned[max(0, at - 3):at]
    return before.endswith(NEGATIONS)


def strip_fillers(cleaned: str) -> str:
    """Drop politeness words and interjections, for whole-utterance answers like '嗯，好的'."""
    for word in FILLER_WORDS:
        cleaned = cleaned.replace(word, "")
    return "".join(ch for ch in cleaned if ch not in FILLER_CHARS)


def _is_repeat(unit: tuple | str, whole: tuple | str) -> bool:
    """'好的好的' is still '好的'."""
    k, rem = divmod(len(whole), len(unit)) if unit else (0, 1)
    return k >= 1 and rem == 0 and unit * k == whole


class IntentMatcher:
    """Matcher for one dialect grammar; build once (phrase pinyin is precomputed)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.pairs = frozenset(grammar.confusions)
        self.threshold = grammar.threshold
        self.margin = grammar.tie_margin
        self.intents: tuple[str, ...] = tuple(grammar.intents)
        self._order = {name: i for i, name in enumerate(self.intents)}
        self._max_cost_ratio = max(0.0, 1.0 - self.threshold / PINYIN_EXACT)
        self._phrases: list[_Phrase] = []
        for intent, phrases in grammar.intents.items():
            for p in phrases:
                cleaned = clean_text(p.text)
                syls = normalise((t.syllable for t in tokens(cleaned)), self.pairs)
                self._phrases.append(
                    _Phrase(intent, p.text, cleaned, syls, p.whole or len(syls) <= 1)
                )

    def match(self, text: str, allowed: Iterable[str] | None = None) -> IntentMatch:
        """Best intent for one utterance, or None when unsure (low score or a tie)."""
        cleaned = clean_text(text)
        toks = tokens(cleaned)
        if not toks:
            return IntentMatch(None, 0.0, None, "empty")
        wanted = None if allowed is None else set(allowed)
        syls = tuple(normalise_syllable(t.syllable, self.pairs) for t in toks)
        starts = [t.start for t in toks]
        core = strip_fillers(cleaned)
        core_syls = normalise((t.syllable for t in tokens(core)), self.pairs)
        best: dict[str, _Hit] = {}
        for ph in self._phrases:
            if wanted is not None and ph.intent not in wanted:
                continue
            hit = self._score(ph, cleaned, syls, starts, core, core_syls)
            if hit is None:
                continue
            old = best.get(ph.intent)
            if old is None or (hit.score, hit.end - hit.start) > (old.score, old.end - old.start):
                best[ph.intent] = hit
        hits = self._drop_contained(list(best.values()))
        if not hits:
            return IntentMatch(None, 0.0, None, "low_score")
        hits.sort(key=lambda h: (-h.score, -(h.end - h.start), h.order))
        top = hits[0]
        if top.score < self.threshold:
            return IntentMatch(None, round(top.score, 4), None, "low_score")
        if len(hits) > 1 and top.score - hits[1].score < self.margin:
            return IntentMatch(None, round(top.score, 4), None, "tie")
        return IntentMatch(top.intent, round(top.score, 4), top.phrase)

    def _score(self, ph: _Phrase, cleaned: str, syls: tuple[str, ...], starts: list[int],
               core: str, core_syls: tuple[str, ...]) -> _Hit | None:
        order = self._order[ph.intent]
        if ph.whole:
            if _is_repeat(ph.cleaned, core):
                return _Hit(ph.intent, ph.text, 1.0, 0, len(syls), order)
            if _is_repeat(ph.syls, core_syls):
                return _Hit(ph.intent, ph.text, PINYIN_EXACT, 0, len(syls), order)
            return None
        at = cleaned.find(ph.cleaned)
        if at >= 0:
            if _negated(cleaned, at):
                return None
            start = bisect.bisect_left(starts, at)
            end = bisect.bisect_left(starts, at + len(ph.cleaned))
            return _Hit(ph.intent, ph.text, 1.0, start, end, order)
        m = len(ph.syls)
        max_cost = m * self._max_cost_ratio
        present = set(syls)
        if sum(s in present for s in ph.syls) < m - 2 * max_cost:
            return None  # each syllable not found exactly costs at least NEAR_COST
        cost, start, end = _align(ph.syls, syls)
        score = PINYIN_EXACT * (1.0 - cost / m)
        if score <= 0 or (start < len(starts) and _negated(cleaned, starts[start])):
            return None
        return _Hit(ph.intent, ph.text, score, start, end, order)

    @staticmethod
    def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
        """'不是的' (no) contains '是的' (yes): the longer span explains the shorter one."""
        out = []
        for h in hits:
            covered = any(
                o is not h and o.start <= h.start and h.end <= o.end
                and (o.end - o.start) > (h.end - h.start) and o.score >= h.score
                for o in hits
            )
            if not covered:
                out.append(h)
        return out
