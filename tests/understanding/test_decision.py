"""Decisions with small hand-set models, so each rule is seen at work (the trained artifact is
tested in test_artifact.py)."""

import numpy as np
import pytest

from ivr.understanding.decision import CallScamJudge, IntentDecider, shown
from ivr.understanding.intents import IntentMatcher
from ivr.understanding.scam_config import ScamModelSettings
from ivr.understanding.textmodel import Contribution, TextModel

STORY = ["有个人打电话说我的社保卡被冒用了", "要我把存款挪过去核查一下", "还叫我别跟儿女讲"]


def model_of(classes, weights: dict[str, dict[str, float]]) -> TextModel:
    """Linear model whose vocabulary is the given features; Platt a=-1, b=0 for every class."""
    names = sorted({f for w in weights.values() for f in w})
    vocab = {f: i for i, f in enumerate(names)}
    coef = np.zeros((len(classes), len(names)))
    for c, w in weights.items():
        for f, v in w.items():
            coef[classes.index(c), vocab[f]] = v
    return TextModel("t", tuple(classes), vocab, np.ones(len(names)), coef,
                     np.zeros(len(classes)), np.full(len(classes), -1.0),
                     np.zeros(len(classes)))


@pytest.fixture
def story_model():
    # one story feature per sentence; the L2 norm makes k of them joined sqrt(k) x one
    feats = {"c:冒用": 1.0, "c:挪过去": 1.0, "c:儿女": 1.0}
    return model_of(["legit", "police_impersonation", "other"],
                    {"police_impersonation": feats, "other": {k: -9.0 for k in feats}})


def probabilities(detector, model):
    never = ScamModelSettings(threshold=1.5, lexicon_bonus=0.0, lexicon_alone=False)
    judge = CallScamJudge(detector, model, never)
    return [judge.feed(s).probability for s in STORY]


@pytest.fixture
def settings(detector, story_model):
    """Threshold between two sentences' evidence and three's, as a deployment might set it."""
    p = probabilities(detector, story_model)
    return ScamModelSettings(threshold=(p[1] + p[2]) / 2, lexicon_bonus=0.0, window=3,
                             min_chars=8, partial_margin=0.1)


def test_story_in_three_sentences_fires_on_the_third(detector, story_model, settings):
    assert not any(detector.check(s).is_risk for s in STORY)  # no textbook keyword
    p = probabilities(detector, story_model)
    assert p[0] < p[1] < p[2]
    judge = CallScamJudge(detector, story_model, settings)
    first, second, third = (judge.feed(s) for s in STORY)
    assert not first.is_risk and not second.is_risk
    assert third.is_risk and third.reason == "model"
    assert third.category == "police_impersonation"
    assert set(third.ngrams) == {"冒用", "挪过去", "儿女"}
    assert set(third.to_dict()["matched"]) == {"冒用", "挪过去", "儿女"}


def test_the_same_sentences_in_one_utterance_fire_too(detector, story_model, settings):
    judge = CallScamJudge(detector, story_model, settings)
    assert judge.feed("".join(STORY)).is_risk


def test_old_sentences_leave_the_window(detector, story_model, settings):
    judge = CallScamJudge(detector, story_model, settings.model_copy(update={"window": 2}))
    results = [judge.feed(s).is_risk for s in STORY]
    assert results == [False, False, False]


def test_partial_needs_more_evidence_than_a_final(detector, story_model, settings):
    judge = CallScamJudge(detector, story_model, settings)
    judge.feed(STORY[0])
    judge.feed(STORY[1])
    partial = judge.feed(STORY[2], final=False)
    assert partial.probability >= settings.threshold and not partial.is_risk
    assert judge.feed(STORY[2], final=True).is_risk


def test_thin_evidence_never_fires(detector, settings):
    model = model_of(["legit", "police_impersonation", "other"],
                     {"police_impersonation": {"c:冒用": 5.0}})
    judge = CallScamJudge(detector, model, settings)
    short = judge.feed("冒用", final=True)  # p ~0.67 but 2 characters
    assert short.probability > settings.threshold and not short.is_risk
    assert judge.feed("说我的卡被冒用了", final=True).is_risk


def test_lexicon_keeps_firing_alone_and_adds_a_bonus(detector, story_model, settings):
    lexicon_hit = "让我把钱转到安全账户"
    assert CallScamJudge(detector, None, settings).feed(lexicon_hit).reason == "lexicon"
    no_alone = settings.model_copy(update={"lexicon_alone": False})
    assert not CallScamJudge(detector, story_model, no_alone).feed(lexicon_hit).is_risk
    # a weak lexicon hit (警察, 0.3) lifts one story sentence over the threshold with a bonus
    text = "警察打电话说我的社保卡被冒用了"
    assert not CallScamJudge(detector, story_model, settings).feed(text).is_risk
    bonus = settings.model_copy(update={"lexicon_bonus": 0.3})
    hit = CallScamJudge(detector, story_model, bonus).feed(text)
    assert hit.is_risk and hit.reason == "model" and "警察" in hit.matched


def test_disabled_model_is_the_lexicon_alone(detector, story_model, settings):
    off = settings.model_copy(update={"enabled": False})
    judge = CallScamJudge(detector, story_model, off)
    assert not any(judge.feed(s).is_risk for s in STORY)
    assert judge.result.probability == 0.0


def test_pinyin_ngram_is_shown_as_the_words_heard():
    assert shown(Contribution("p:zuan qian", 1.0), "他叫我赚钱过去") == "赚钱"
    assert shown(Contribution("c:转钱$", 1.0), "转钱") == "转钱"


# ---------------------------------------------------------------------- intents
@pytest.fixture
def intent_model():
    m = model_of(["balance", "human_agent", "none", "repeat"], {
        "balance": {"c:剩多少": 4.0},
        "repeat": {"c:没跟上": 4.0},
        "none": {"c:智能": 9.0, "c:宝": 9.0},
        "human_agent": {"c:人工": 1.0},
    })
    m.cal_b[:] = 2.0  # a class with no evidence gets ~0.12, not 0.5
    return m


def test_grammar_hit_is_kept_and_model_fills_paraphrases(grammars, intent_model):
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), intent_model)
    g = d.decide("我要转人工")
    assert (g.intent, g.source, g.phrase) == ("human_agent", "grammar", "转人工")
    m = d.decide("我卡上还剩多少")
    assert (m.intent, m.source) == ("balance", "model") and m.why == ["剩多少"]
    assert d.decide("今天天气不错").intent is None


def test_model_answers_only_within_the_menu_step(grammars, intent_model):
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), intent_model)
    assert d.decide("我卡上还剩多少", allowed=["repeat", "human_agent"]).intent is None
    assert d.decide("刚才没跟上", allowed=["repeat", "human_agent"]).intent == "repeat"


def test_model_sure_of_none_overrides_a_colliding_grammar_phrase(grammars, intent_model):
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), intent_model)
    assert IntentMatcher(grammars["mandarin"]).match("人工智能").intent == "human_agent"
    r = d.decide("人工智能")
    assert r.intent is None and r.source == "model_none" and "智能" in r.why
    assert d.decide("余额宝").intent is None
    assert d.decide("人工").intent == "human_agent"


def test_a_whole_answer_the_grammar_knows_is_never_overridden(grammars):
    sure_none = model_of(["human_agent", "none"], {"none": {"c:人": 9.0, "c:工": 9.0}})
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), sure_none)
    assert d.decide("人工呀").intent == "human_agent"  # the phrase is all that was said
    assert d.decide("人工呼吸").intent is None


def test_text_the_model_has_no_ngram_of_is_left_to_the_grammar(grammars, intent_model):
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), intent_model)
    assert d.decide("今天天气不错") == IntentDecider(IntentMatcher(grammars["mandarin"]),
                                                  None).decide("今天天气不错")


def test_no_model_is_the_grammar_alone(grammars):
    d = IntentDecider(IntentMatcher(grammars["mandarin"]), None)
    assert d.decide("人工智能").intent == "human_agent"
    assert d.decide("我卡上还剩多少").intent is None
