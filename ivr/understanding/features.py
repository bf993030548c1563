"""Text -> sparse n-gram features shared by training and live scoring (pure).

Why both kinds: character n-grams keep the wording ("安全账户", "搵人工"); n-grams of pinyin folded
through every accent confusion pair keep the sound, so "安全站户" or "仁工" from an accented caller
or a small ASR model lands on the same features as the clean spelling. One function serves
`ivr train` and the live path, so a model scores exactly what it was trained on.
"""

from __future__ import annotations

from ivr.understanding.pinyin import ALL_PAIRS, clean_text, normalise_syllable, tokens

CHAR_ORDERS = (1, 2, 3)
PINYIN_ORDERS = (1, 2, 3)
BOUNDARY = ("^", "$")


def units(text: str) -> tuple[list[str], list[str]]:
    """(characters, folded syllables) of a transcript: a unit per Han char, ASCII word, digit."""
    cleaned = clean_text(text)
    toks = tokens(cleaned)
    chars = [cleaned[t.start:t.end] for t in toks]
    syls = [normalise_syllable(t.syllable, ALL_PAIRS) for t in toks]
    return chars, syls


def _grams(seq: list[str], orders: tuple[int, ...], prefix: str, sep: str) -> list[str]:
    padded = [BOUNDARY[0], *seq, BOUNDARY[1]]
    out = []
    for n in orders:
        for i in range(len(padded) - n + 1):
            gram = padded[i:i + n]
            if n == 1 and gram[0] in BOUNDARY:
                continue
            out.append(prefix + sep.join(gram))
    return out


def features(text: str) -> list[str]:
    """Feature strings of one text ('c:' character n-grams, 'p:' folded-pinyin n-grams)."""
    chars, syls = units(text)
    if not chars:
        return []
    return _grams(chars, CHAR_ORDERS, "c:", "") + _grams(syls, PINYIN_ORDERS, "p:", " ")
