import random

import pytest

from ivr.understanding import noise
from ivr.understanding.pinyin import char_syllable, is_han

TEXT = "打电话的人说我的社保卡被人冒用要我把钱转过去"


def test_same_seed_same_noise_and_edits_are_recorded():
    a = noise.corrupt(TEXT, random.Random(5), rate=0.3)
    b = noise.corrupt(TEXT, random.Random(5), rate=0.3)
    assert a == b and a.text != TEXT
    assert a.edits and set(a.edits) <= set(noise.KINDS)
    assert a.label == "+".join(a.edits)


def test_homophone_keeps_syllable_and_tone():
    rng = random.Random(1)
    for ch in "钱是保人":
        new = noise.homophone(ch, rng)
        assert new is not None and new != ch
        assert noise._toned(new) == noise._toned(ch)


def test_tone_swap_keeps_syllable_changes_tone():
    rng = random.Random(2)
    for ch in "妈钱转":
        new = noise.tone_swap(ch, rng)
        assert new is not None
        assert char_syllable(new) == char_syllable(ch) and noise._toned(new) != noise._toned(ch)


@pytest.mark.parametrize("syl,expected", [
    ("nan", "lan"), ("lan", "nan"), ("fu", "hu"), ("hu", "fu"), ("zi", "zhi"), ("zhi", "zi"),
    ("ci", "chi"), ("chi", "ci"), ("si", "shi"), ("shi", "si"), ("rou", "lou"), ("rou", "you"),
    ("ben", "beng"), ("feng", "fen"), ("xin", "xing"), ("ying", "yin"), ("fan", "fang"),
    ("zhang", "zhan"),
])
def test_accent_mergers_in_both_directions(syl, expected):
    assert expected in noise.merged_syllables(syl)


def test_accent_substitution_is_a_merged_syllable():
    rng = random.Random(3)
    for ch in "男说人":
        new = noise.accent(ch, rng)
        assert new is not None and char_syllable(new) in noise.merged_syllables(char_syllable(ch))


def test_drop_and_truncate_shorten_but_keep_most_of_the_text():
    rng = random.Random(4)
    for _ in range(30):
        out = noise.corrupt(TEXT, rng, rate=0.2, kinds=("drop", "truncate"))
        assert len(TEXT) - 6 <= len(out.text) < len(TEXT)
        assert out.edits.count("truncate") <= 1


def test_short_texts_only_get_substitutions_and_non_han_is_untouched():
    rng = random.Random(6)
    for _ in range(20):
        out = noise.corrupt("人工", rng, rate=0.5)
        assert len(out.text) == 2 and set(out.edits) <= {"homophone", "tone", "accent"}
    assert noise.corrupt("OK 123", rng) == noise.Noisy("OK 123", ())
    mixed = noise.corrupt("我要ATM机取款", random.Random(7), rate=0.5, kinds=("homophone",))
    assert "ATM" in mixed.text and all(is_han(c) for c in mixed.text if c not in "ATM")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        noise.corrupt(TEXT, random.Random(0), kinds=("shout",))


def test_a_syllable_without_merger_gets_no_accent_edit():
    assert noise.merged_syllables("gong") == []
    assert noise.accent("工", random.Random(0)) is None
