import numpy as np
import pytest

from ivr.understanding.features import features, units
from ivr.understanding.textmodel import Contribution, TextModel


def test_char_and_folded_pinyin_ngrams():
    f = features("转人工")
    assert {"c:转", "c:转人", "c:转人工", "c:^转", "c:工$"} <= set(f)
    assert {"p:zuan nen gong", "p:^ zuan"} <= set(f)  # zh->z, r->l->n: one class


def test_accented_and_misheard_spelling_share_pinyin_features():
    clean = {x for x in features("安全账户") if x.startswith("p:")}
    heard = {x for x in features("安全站户") if x.startswith("p:")}
    assert clean == heard
    assert {x for x in features("仁工") if x.startswith("p:")} == \
        {x for x in features("人工") if x.startswith("p:")}


def test_punctuation_spaces_and_empty_text():
    assert features("转 人工！") == features("转人工")
    assert features("，。 ") == []
    assert units("ATM机") == (["atm", "机"], ["atm", "ji"])


def _toy_model() -> TextModel:
    vocab = {"c:钱": 0, "c:转": 1, "c:好": 2}
    return TextModel(
        name="toy", classes=("legit", "fraud", "other"), vocab=vocab,
        idf=np.ones(3), coef=np.array([[0.0, 0.0, 2.0], [3.0, 1.0, -1.0], [0.0, 0.0, 0.0]]),
        intercept=np.zeros(3), cal_a=np.full(3, -1.0), cal_b=np.zeros(3))


def test_textmodel_tfidf_scores_probabilities_and_explanation():
    m = _toy_model()
    idx, val = m.vector("钱钱转")
    assert sorted(idx.tolist()) == [0, 1]
    assert np.isclose(np.linalg.norm(val), 1.0)
    tf = {0: 1 + np.log(2), 1: 1.0}
    expected = np.array([tf[i] for i in idx.tolist()]) / np.hypot(tf[0], tf[1])
    assert np.allclose(val, expected)
    p = m.proba("钱钱转")
    assert pytest.approx(sum(p.values())) == 1.0
    assert max(p, key=p.get) == "fraud"
    why = m.explain("钱钱转好", "fraud", against="legit")
    assert [c.feature for c in why] == ["c:钱", "c:转"]  # 好 pushes away: not listed
    assert m.explain("钱钱转好", "fraud", against="legit", min_units=2) == []
    assert Contribution("p:^ zuan qian", 1.0).units == 2 and Contribution("c:转钱$", 1).units == 2
    assert Contribution("p:zuan qian", 1.0).shown == "[zuan qian]"
    assert m.proba("完全无关") == pytest.approx({c: 1 / 3 for c in m.classes})


def test_textmodel_roundtrip_through_arrays():
    m = _toy_model()
    back = TextModel.from_arrays("toy", m.arrays("toy"))
    assert back.classes == m.classes and back.vocab == m.vocab
    assert back.proba("钱转") == pytest.approx(m.proba("钱转"))
