import pytest

from ivr.understanding.grammar_config import Grammar
from ivr.understanding.intents import IntentMatcher


@pytest.mark.parametrize("text,intent", [
    ("我要转人工", "human_agent"),
    ("麻烦帮我转接人工", "human_agent"),
    ("我 要 找 客服", "human_agent"),  # Vosk puts spaces between words
    ("我想查一下余额", "balance"),
    ("我的银行卡丢了", "lost_card"),
    ("再说一遍", "repeat"),
    ("你说慢一点", "slower"),
    ("我是老年人", "elder"),
    ("回主菜单", "main_menu"),
    ("我想问一下保险理赔", "policy_service"),  # the longer phrase explains 保险
    ("嗯，好的", "yes"),
    ("好的好的", "yes"),
    ("不是的", "no"),  # contains 是的, but the longer answer wins
])
def test_exact_mandarin_phrases(matchers, text, intent):
    m = matchers["mandarin"].match(text)
    assert m.intent == intent
    assert m.score == 1.0 and m.phrase


@pytest.mark.parametrize("heard,intent,pair", [
    ("仁工", "human_agent", "homophone"),
    ("早客户", "human_agent", "z/zh + f/h"),
    ("接香员", "human_agent", "ian/iang"),
    ("从复一遍", "repeat", "c/ch"),
    ("挂私", "lost_card", "s/sh"),
    ("再所一遍", "repeat", "s/sh"),
    ("忙一点", "slower", "an/ang"),
    ("没挺亲", "repeat", "in/ing"),
    ("保香", "insurance", "ian/iang"),
    ("四的", "yes", "s/sh"),
    ("我是老年忍", "elder", "homophone in a long phrase"),
    ("我年纪大鸟", "elder", "one near syllable in five"),
])
def test_accent_merged_mistranscriptions(matchers, heard, intent, pair):
    m = matchers["mandarin"].match(heard)
    assert m.intent == intent, pair
    assert 0.75 <= m.score < 1.0


@pytest.mark.parametrize("dialect,text,intent", [
    ("sichuanese", "你说啥子", "repeat"),
    ("sichuanese", "要得", "yes"),
    ("sichuanese", "莫得", "no"),
    ("sichuanese", "卡头还有好多钱", "balance"),
    ("sichuanese", "咋个挂失嘛", "lost_card"),
    ("sichuanese", "给我转人工嘛", "human_agent"),
    ("cantonese", "唔该转人工", "human_agent"),
    ("cantonese", "搵人工", "human_agent"),
    ("cantonese", "听唔清", "repeat"),
    ("cantonese", "系", "yes"),
    ("cantonese", "唔系", "no"),
    ("cantonese", "冇", "no"),
    ("cantonese", "仲有几多钱", "balance"),
    ("cantonese", "张卡唔见咗", "lost_card"),
    ("cantonese", "讲慢啲", "slower"),
])
def test_dialect_wordings(matchers, dialect, text, intent):
    assert matchers[dialect].match(text).intent == intent


def test_cantonese_heard_through_mandarin_asr(matchers):
    # 唔该 (m4 goi1) transcribed by a Mandarin model as 五该: pinyin still matches
    m = matchers["cantonese"].match("五该转人工")
    assert m.intent == "human_agent"


@pytest.mark.parametrize("text", ["今天天气怎么样", "我家的猫跑丢了", "你好", "", "。。。", "啊"])
def test_unrelated_speech_is_not_understood(matchers, text):
    m = matchers["mandarin"].match(text)
    assert m.intent is None and m.phrase is None


def test_two_intents_at_once_is_a_tie(matchers):
    m = matchers["mandarin"].match("我要查余额还要挂失")
    assert m.intent is None and m.reason == "tie"


def test_tie_between_equally_good_fuzzy_matches():
    g = Grammar.model_validate({"name": "t", "confusions": ["n/l"],
                                "intents": {"a": ["流量"], "b": ["牛量"]}})
    m = IntentMatcher(g).match("刘量")  # liu liang: as close to both
    assert m.intent is None and m.reason == "tie"


def test_negated_request_is_not_obeyed(matchers):
    assert matchers["mandarin"].match("我不要人工").intent is None
    assert matchers["mandarin"].match("我不想挂失了").intent is None


def test_short_answers_only_count_as_the_whole_utterance(matchers):
    # "可以" inside a request is not a yes
    assert matchers["mandarin"].match("你可以帮我查一下余额吗").intent == "balance"
    assert matchers["mandarin"].match("你可以帮我查一下余额吗", {"yes", "no"}).intent is None
    assert matchers["mandarin"].match("可以", {"yes", "no"}).intent == "yes"


def test_allowed_restricts_to_the_menu_node(matchers):
    m = matchers["mandarin"].match("我要查余额", allowed={"lost_card", "human_agent"})
    assert m.intent is None
    assert matchers["mandarin"].match("转人工", allowed={"human_agent"}).intent == "human_agent"


def test_dialect_pairs_matter(matchers):
    # Sichuanese grammar does not list ian/iang, so 保香 is not 保险 there; Mandarin forgives it
    assert matchers["mandarin"].match("保香").intent == "insurance"
    assert matchers["sichuanese"].match("保香").intent is None


def test_every_phrase_matches_its_own_intent(matchers):
    for name, matcher in matchers.items():
        for intent, phrases in matcher.grammar.intents.items():
            for p in phrases:
                got = matcher.match(p.text)
                assert got.intent == intent, (name, p.text, got)
