"""Text -> toneless pinyin syllables, folded through accent confusion pairs.

Why: elderly callers with regional accents (and small ASR models) blur n/l, f/h, z/zh, an/ang...
so the transcript often holds a near-homophone of what was meant. Folding both the phrase and the
transcript to one canonical form per confusion class makes them compare equal. The intent matcher
and the scam detector share this module so both hear the same accents.

Conversion is per character (cached): a phrase and a transcript always get the same reading for the
same character, which is what matching needs, and it is ~30x faster than context segmentation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from pypinyin import Style, lazy_pinyin

CONFUSION_PAIRS: tuple[str, ...] = (
    "n/l", "f/h", "z/zh", "c/ch", "s/sh", "r/l",
    "an/ang", "en/eng", "in/ing", "ian/iang", "uan/uang",
)
ALL_PAIRS: frozenset[str] = frozenset(CONFUSION_PAIRS)

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "z", "c", "s", "r", "y", "w")
# Initial pairs: (kept, folded). Classes are merged (n/l + r/l puts r, l and n together).
_INITIAL_PAIRS = {"n/l": ("n", "l"), "f/h": ("f", "h"), "z/zh": ("z", "zh"),
                  "c/ch": ("c", "ch"), "s/sh": ("s", "sh"), "r/l": ("l", "r")}
_CANONICAL_ORDER = ("z", "c", "s", "n", "l", "f")
# Final pairs: folded final -> kept final (on the true final, after y/w are spelled out).
_FINAL_PAIRS: dict[str, dict[str, str]] = {
    "an/ang": {"ang": "an"}, "en/eng": {"eng": "en", "ueng": "un"}, "in/ing": {"ing": "in"},
    "ian/iang": {"iang": "ian"}, "uan/uang": {"uang": "uan"},
}
# y/w are spelling devices: the true final decides which final pair applies (yang = iang).
_YW_FINALS = {
    "yi": "i", "ya": "ia", "yo": "io", "ye": "ie", "yao": "iao", "you": "iu", "yan": "ian",
    "yin": "in", "yang": "iang", "ying": "ing", "yong": "iong", "yu": "v", "yue": "ve",
    "yuan": "van", "yun": "vn", "wu": "u", "wa": "ua", "wo": "uo", "wai": "uai", "wei": "ui",
    "wan": "uan", "wen": "un", "wang": "uang", "weng": "ueng",
}
# A Hangul syllable block is one spoken syllable, like a Han character: grammars may carry
# phrases in it (the real-engine tests use the Korean Vosk model, the one on PyPI).
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[\uac00-\ud7a3]|[a-z]+|[0-9]")
_SPACE_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


class Token(NamedTuple):
    """One syllable (or ASCII word/digit) with its span in the cleaned text."""

    syllable: str
    start: int
    end: int


def clean_text(text: str) -> str:
    """NFKC, lower-case, drop whitespace and punctuation (ASR puts spaces between Chinese words)."""
    return _SPACE_PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@lru_cache(maxsize=65536)
def char_syllable(ch: str) -> str:
    """Toneless pinyin of one Chinese character (its most common reading)."""
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def tokens(cleaned: str) -> list[Token]:
    """Syllable tokens of an already cleaned text: one per Han char, Hangul block, ASCII word
    or digit.

    Other scripts (kana, symbols) are skipped, never guessed.
    """
    out = []
    for m in _TOKEN.finditer(cleaned):
        tok = m.group()
        out.append(Token(char_syllable(tok) if is_han(tok) else tok, m.start(), m.end()))
    return out


def syllables(text: str) -> list[str]:
    """Raw toneless syllables of any text (punctuation and spaces dropped)."""
    return [t.syllable for t in tokens(clean_text(text))]


@lru_cache(maxsize=64)
def _initial_map(pairs: frozenset[str]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for pair in sorted(pairs):
        if pair in _INITIAL_PAIRS:
            a, b = (find(x) for x in _INITIAL_PAIRS[pair])
            if a != b:
                parent[b] = a
    classes: dict[str, list[str]] = {}
    for x in {x for p in _INITIAL_PAIRS.values() for x in p}:
        classes.setdefault(find(x), []).append(x)
    out: dict[str, str] = {}
    for members in classes.values():
        canon = next((c for c in _CANONICAL_ORDER if c in members), sorted(members)[0])
        out.update({m: canon for m in members})
    return out


@lru_cache(maxsize=8192)
def normalise_syllable(syl: str, pairs: frozenset[str] = ALL_PAIRS) -> str:
    """Fold one toneless syllable to the canonical form of its confusion class."""
    if not syl.isalpha() or not syl.isascii():
        return syl
    initial, final = "", syl
    if syl in _YW_FINALS:
        final = _YW_FINALS[syl]
    else:
        for ini in _INITIALS:
            if syl.startswith(ini) and len(syl) > len(ini):
                initial, final = ini, syl[len(ini):]
                break
    initial = _initial_map(pairs).get(initial, initial)
    for pair, folds in _FINAL_PAIRS.items():
        if pair in pairs and final in folds:
            final = folds[final]
            break
    return initial + final


def normalise(syls: Iterable[str], pairs: frozenset[str] = ALL_PAIRS) -> tuple[str, ...]:
    return tuple(normalise_syllable(s, pairs) for s in syls)


def normalised_syllables(text: str, pairs: frozenset[str] = ALL_PAIRS) -> tuple[str, ...]:
    """Text -> canonical syllables; equal outputs mean 'sounds the same to a confused ear'."""
    return normalise(syllables(text), pairs)


def pairs_of(names: Iterable[str]) -> frozenset[str]:
    """Validate confusion pair names (e.g. from a grammar file) into a frozenset."""
    out = frozenset(names)
    unknown = out - ALL_PAIRS
    if unknown:
        raise ValueError(f"unknown confusion pairs: {sorted(unknown)}")
    return out
