"""ASR and accent noise made by code (pure): a clean row -> what a small ASR model might print.

Why by code: hand-written "noisy" rows carry the writer's guess of an error; these are the errors a
Mandarin acoustic model really makes on accented elderly speech: a character replaced by another
with the same sound (homophone) or the same syllable in another tone, one side of an accent merger
(n/l, f/h, z/zh, c/ch, s/sh, r/l, r/y, en/eng, in/ing, an/ang) heard as the other, a syllable
swallowed, and the start or end cut by the endpointer. Replacements are common characters only
(GB2312 level 1), so the noisy text looks like a transcript, not like a dictionary.

Every function takes the random generator, so a seed gives the same corpus every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from ivr.understanding.pinyin import is_han

KINDS = ("homophone", "tone", "accent", "drop", "truncate")
# How often each kind is drawn: substitutions are what an ASR model mostly does.
WEIGHTS = {"homophone": 3, "tone": 2, "accent": 3, "drop": 1, "truncate": 1}
# (from, to) on the initial or the final; both directions of each merger are listed.
INITIAL_MERGERS: tuple[tuple[str, str], ...] = (
    ("n", "l"), ("l", "n"), ("f", "h"), ("h", "f"), ("z", "zh"), ("zh", "z"), ("c", "ch"),
    ("ch", "c"), ("s", "sh"), ("sh", "s"), ("r", "l"), ("r", "y"),
)
FINAL_MERGERS: tuple[tuple[str, str], ...] = (
    ("en", "eng"), ("eng", "en"), ("in", "ing"), ("ing", "in"), ("an", "ang"), ("ang", "an"),
)
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "z", "c", "s", "r", "y", "w")


@dataclass(frozen=True)
class Noisy:
    """A noisy text and the edits that made it (for the provenance column)."""

    text: str
    edits: tuple[str, ...]

    @property
    def label(self) -> str:
        return "+".join(self.edits) if self.edits else "none"


def _common(ch: str) -> bool:
    """GB2312 level-1 characters: the 3,755 everyday ones."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """toned syllable -> chars, toneless syllable -> chars (common characters only)."""
    toned: dict[str, list[str]] = {}
    plain: dict[str, list[str]] = {}
    for first in range(0xB0, 0xD8):
        for second in range(0xA1, 0xFF):
            try:
                ch = bytes((first, second)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if not is_han(ch):
                continue
            toned.setdefault(_toned(ch), []).append(ch)
            plain.setdefault(_plain(ch), []).append(ch)
    return ({k: tuple(v) for k, v in toned.items()}, {k: tuple(v) for k, v in plain.items()})


@lru_cache(maxsize=65536)
def _toned(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True)[0]


@lru_cache(maxsize=65536)
def _plain(ch: str) -> str:
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def split_syllable(syl: str) -> tuple[str, str]:
    """'zhang' -> ('zh', 'ang'); syllables without an initial -> ('', syl)."""
    for ini in _INITIALS:
        if syl.startswith(ini) and len(syl) > len(ini):
            return ini, syl[len(ini):]
    return "", syl


def merged_syllables(syl: str) -> list[str]:
    """Syllables an accent merger turns ``syl`` into (only real syllables of common chars)."""
    _, plain = _index()
    ini, fin = split_syllable(syl)
    out = []
    for a, b in INITIAL_MERGERS:
        if ini == a and b + fin in plain:
            out.append(b + fin)
    for a, b in FINAL_MERGERS:
        if fin.endswith(a):
            cand = ini + fin[: len(fin) - len(a)] + b
            if cand in plain and cand != syl:
                out.append(cand)
    return out


def _pick(rng: random.Random, chars: Sequence[str], avoid: str) -> str | None:
    choices = [c for c in chars if c != avoid]
    return rng.choice(choices) if choices else None


def homophone(ch: str, rng: random.Random) -> str | None:
    """Another common character with the same syllable and tone."""
    return _pick(rng, _index()[0].get(_toned(ch), ()), ch) if is_han(ch) else None


def tone_swap(ch: str, rng: random.Random) -> str | None:
    """A common character with the same toneless syllable in another tone."""
    if not is_han(ch):
        return None
    own = _toned(ch)
    pool = [c for c in _index()[1].get(_plain(ch), ()) if _toned(c) != own]
    return rng.choice(pool) if pool else None


def accent(ch: str, rng: random.Random) -> str | None:
    """A character as a merged accent hears it: 'nan' said as 'lan', 'shi' as 'si'."""
    if not is_han(ch):
        return None
    targets = merged_syllables(_plain(ch))
    if not targets:
        return None
    target = rng.choice(targets)
    pool = _index()[1][target]
    tone = _toned(ch)[-1]
    same_tone = [c for c in pool if _toned(c).endswith(tone)]
    return rng.choice(same_tone or list(pool))


_SUBSTITUTE = {"homophone": homophone, "tone": tone_swap, "accent": accent}


def corrupt(text: str, rng: random.Random, rate: float = 0.15,
            kinds: Sequence[str] = KINDS) -> Noisy:
    """Apply edits to about ``rate`` of the Han characters (at least one edit when possible).

    A text of fewer than three characters only gets substitutions: dropping from '人工' leaves a
    different request, not a noisy one.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown noise kinds {sorted(unknown)}")
    chars = list(text)
    han = [i for i, c in enumerate(chars) if is_han(c)]
    if not han:
        return Noisy(text, ())
    subs = [k for k in kinds if k in _SUBSTITUTE]
    cuts = [k for k in kinds if k in ("drop", "truncate")] if len(han) >= 3 else []
    n_edits = max(1, round(len(han) * rate))
    edits: list[str] = []
    removed: set[int] = set()
    for _ in range(n_edits * 3):  # a few tries: not every character has a homophone
        if len(edits) >= n_edits:
            break
        pool = [k for k in subs + cuts if not (k == "truncate" and "truncate" in edits)]
        if not pool:
            break
        kind = rng.choices(pool, weights=[WEIGHTS[k] for k in pool])[0]
        alive = [i for i in han if i not in removed]
        if len(alive) < 2:
            break
        if kind == "drop" and len(alive) >= 3:
            i = rng.choice(alive[1:-1] or alive)
            removed.add(i)
            edits.append("drop")
        elif kind == "truncate" and len(alive) >= 4:
            cut = rng.choice((1, 1, 2)) if len(alive) >= 6 else 1
            side = alive[:cut] if rng.random() < 0.4 else alive[-cut:]
            removed.update(side)
            edits.append("truncate")
        elif kind in _SUBSTITUTE:
            i = rng.choice(alive)
            new = _SUBSTITUTE[kind](chars[i], rng)
            if new is not None:
                chars[i] = new
                edits.append(kind)
    out = "".join(c for i, c in enumerate(chars) if i not in removed)
    return Noisy(out, tuple(edits))
