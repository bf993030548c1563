from ivr.understanding.pinyin import (
    ALL_PAIRS,
    clean_text,
    normalise_syllable,
    normalised_syllables,
    pairs_of,
    syllables,
)


def test_syllables_are_toneless_and_skip_punctuation():
    assert syllables("我要 人工，谢谢！") == ["wo", "yao", "ren", "gong", "xie", "xie"]


def test_ascii_words_and_digits_become_tokens():
    assert syllables("下载ＡＰＰ 12") == ["xia", "zai", "app", "1", "2"]
    assert clean_text("下载 APP！") == "下载app"


def test_confusion_pairs_fold_both_sides_to_one_form():
    assert normalised_syllables("安全账户") == normalised_syllables("安全站户")
    assert normalised_syllables("找客服") == normalised_syllables("早客户")  # zh/z, f/h
    assert normalised_syllables("流") == normalised_syllables("牛")  # n/l
    assert normalised_syllables("是") == normalised_syllables("四")  # s/sh


def test_h_of_zh_ch_sh_is_not_the_initial_h():
    assert normalise_syllable("zhu", ALL_PAIRS) == "zu"
    assert normalise_syllable("hu", ALL_PAIRS) == "fu"
    assert normalise_syllable("chu", frozenset({"f/h"})) == "chu"


def test_only_listed_pairs_apply():
    only_nl = frozenset({"n/l"})
    assert normalise_syllable("lan", only_nl) == "nan"
    assert normalise_syllable("zhang", only_nl) == "zhang"
    assert normalise_syllable("zhang", frozenset({"an/ang"})) == "zhan"


def test_y_w_spellings_fold_with_their_true_finals():
    # yang is i+ang: the ian/iang pair applies; wang is u+ang: uan/uang applies
    assert normalise_syllable("yang", frozenset({"ian/iang"})) == normalise_syllable(
        "yan", frozenset({"ian/iang"}))
    assert normalise_syllable("wang", frozenset({"uan/uang"})) == normalise_syllable(
        "wan", frozenset({"uan/uang"}))
    assert normalise_syllable("yang", frozenset({"uan/uang"})) != normalise_syllable(
        "yan", frozenset({"uan/uang"}))


def test_r_and_l_and_n_merge_when_both_pairs_listed():
    both = frozenset({"n/l", "r/l"})
    assert normalise_syllable("ren", both) == normalise_syllable("nen", both)
    assert normalise_syllable("ren", frozenset({"n/l"})) == "ren"


def test_unknown_pair_names_are_rejected():
    import pytest

    with pytest.raises(ValueError):
        pairs_of(["n/l", "k/g"])
