import pytest
from pydantic import ValidationError

from ivr.understanding.scam import CallScamTracker, ScamDetector
from ivr.understanding.scam_config import ScamLexicon

FIRES = {
    "police_impersonation": [
        "他说他是公安局的，让我把钱转到安全账户",
        "警察打电话说我涉嫌洗钱，要我配合调查",
        "检察官说我有通缉令，叫我不要告诉家人",
        "公安让我把存款转到安全站户里去",  # an/ang: 站 for 账
        "他说我涉嫌洗前，要把钱转到监管账户",  # homophone 前 for 钱
    ],
    "fake_refund": [
        "淘宝客服说要给我退款，让我下载一个会议软件",
        "快递丢了，客服说双倍赔偿，让我屏幕共享",
        "京东客服说要关闭百万保障",
        "客服让我屏幕共线，说退款马上到账",  # ian/iang
    ],
    "loan_credit": [
        "我申请贷款，他们说要先交解冻费",
        "对方说我流水不够，要刷流水才能放款",
        "贷款审批下来了，让我交保证金才能放款",
        "说刷牛水就能贷下来",  # n/l
    ],
    "investment": [
        "有个老师说有内幕消息，买了稳赚不赔",
        "股票群里老师带单，说一个月翻倍",
        "他说有累幕消息，稳钻不赔",  # n/l and z/zh
        "他说买泰达币能赚钱，让我转账到这个账户",
    ],
    "task_rebate": [
        "网上有个兼职，做任务刷单，先垫付再返利",
        "我在做点赞任务，现在要先垫付才能拿佣金",
        "有人让我耍单赚钱",  # s/sh: 耍 for 刷
    ],
    "pension_insurance": [
        "有人说可以帮我全额退保，要交手续费",
        "有个公司说代理退保，损失全部退回",
        "代你退保，全额退回",  # n/l: 你 for 理
        "一方养老，房子抵押给他们，每个月拿高息",  # homophone 一方 for 以房
    ],
    "relatives": [
        "我孙子说出车祸了，急需用钱",
        "他说他换号了，让我打钱到这个卡",
        "女儿同学说她出车货了，急需用前",
    ],
    "high_risk_action": [
        "对方让我把验证码告诉他",
        "他让我把银行卡贴在手机背面",
        "他让我把验真码告诉他",  # en/eng, z/zh
        "对方让我把密码告诉他",
    ],
}

LEGITIMATE = [
    "我想退保", "我要退保，能退多少钱", "我想把我的保单退了",
    "我的验证码收不到", "手机一直收不到验证码", "验证码过期了怎么办",
    "我想在我自己的账户之间转账", "把定期转活期", "我想转到我自己的卡上",
    "怎么下载你们的手机银行APP", "官方APP在哪里下载",
    "你们银行有什么理财产品", "你们的理财产品收益多少", "我想了解数字人民币",
    "我住院了，想申请理赔", "我儿子出车祸了，保险怎么理赔", "我想申请贷款，需要什么材料",
    "我的卡被冻结了，怎么解冻", "你们的验证码发给我了吗", "我在手机银行转账到我女儿的卡",
]


@pytest.mark.parametrize("category,text", [(c, t) for c, ts in FIRES.items() for t in ts])
def test_each_category_fires(detector, category, text):
    r = detector.check(text)
    assert r.is_risk, (text, r)
    assert r.category == category
    assert r.score >= detector.lexicon.threshold
    assert r.matched


@pytest.mark.parametrize("text", LEGITIMATE)
def test_near_domain_requests_do_not_fire(detector, text):
    r = detector.check(text)
    assert not r.is_risk, (text, r)
    assert r.category is None


def test_counter_phrase_is_reported_and_lowers_score(detector):
    r = detector.check("我的验证码收不到")
    assert r.counters == ["验证码收不到"]
    assert r.score == 0.0


def test_matched_names_the_lexicon_phrase_in_spoken_order(detector):
    r = detector.check("警察让我把钱转到安全站户")
    # context words (让我, weight 0) are listed when they completed a boost
    assert r.matched == ["警察", "让我", "把钱转", "安全账户"]


def test_score_is_deterministic(lexicon, detector):
    text = "他说他是公安局的，让我把钱转到安全账户，不要告诉家人"
    first = detector.check(text)
    again = ScamDetector(lexicon).check(text)
    assert first == again
    assert [detector.check(text).score for _ in range(5)] == [first.score] * 5


def test_words_spread_over_utterances_count_once(detector):
    tracker = CallScamTracker(detector)
    assert not tracker.feed("他说他是公安", final=False).is_risk
    r1 = tracker.feed("他说他是公安局的", final=True)
    assert not r1.is_risk and r1.matched == ["公安局"]
    r2 = tracker.feed("让我把钱转到安全", final=False)  # partial: 公安局 + 把钱转 + boost
    assert r2.is_risk and r2.category == "police_impersonation"
    r3 = tracker.feed("让我把钱转到安全账户", final=True)
    assert r3.matched == ["公安局", "让我", "把钱转", "安全账户"]
    # the same words again add nothing
    assert tracker.feed("公安局 公安局 安全账户", final=True).score == r3.score


def test_phrase_cut_by_utterance_boundary_is_found(detector):
    tracker = CallScamTracker(detector)
    tracker.feed("他让我把钱转到安全", final=True)
    r = tracker.feed("账户里面", final=True)
    assert "安全账户" in r.matched and r.is_risk


def test_partials_are_replaced_not_accumulated(detector):
    tracker = CallScamTracker(detector)
    tracker.feed("我要查一下稳赚不赔", final=False)
    r = tracker.feed("我要查一下余额", final=True)  # the recognizer revised its guess
    assert not r.is_risk and r.matched == []


def _lexicon(**over):
    base = {
        "categories": {"a": {"label": "A", "phrases": {"安全账户": 1.0, "转账": 0.4}}},
        "warnings": {"mandarin": "请不要转账"},
    }
    base.update(over)
    return base


def test_lexicon_validation_errors():
    ScamLexicon.model_validate(_lexicon())
    with pytest.raises(ValidationError):
        ScamLexicon.model_validate(_lexicon(treshold=2))
    with pytest.raises(ValidationError):
        ScamLexicon.model_validate(_lexicon(warnings={"cantonese": "唔好"}))
    with pytest.raises(ValidationError):  # boost names an unknown phrase
        ScamLexicon.model_validate(_lexicon(categories={"a": {
            "label": "A", "phrases": {"转账": 0.4}, "boosts": [{"when": [["洗钱"]], "add": 1}]}}))
    with pytest.raises(ValidationError):  # counter phrase equal to a risk phrase
        ScamLexicon.model_validate(_lexicon(counter_phrases=[{"text": "转账", "weight": 1}]))


def test_warning_per_dialect_falls_back_to_mandarin(lexicon):
    assert "不要转账" in lexicon.warning("mandarin")
    assert lexicon.warning("cantonese") != lexicon.warning("mandarin")
    assert lexicon.warning("hakka") == lexicon.warning("mandarin")
    assert lexicon.label("police_impersonation") == "冒充公检法"
