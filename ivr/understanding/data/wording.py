"""Regional wording and keyword-free paraphrase for corpus rows (pure text functions).

Why: callers say 啥子/佢/侬/咋整 and tell the story without the textbook words (安全账户, 刷单,
验证码); a corpus written only in plain Mandarin with the keywords teaches a model the lexicon
again. Substitutions are applied with a probability each, so two rows from one case differ.
"""

from __future__ import annotations

import random

DIALECTS = ("sichuanese", "cantonese", "wu", "northeastern")

# (source, target) pairs, longest source first within each table; applied with probability.
_SUBS: dict[str, list[tuple[str, str]]] = {
    "sichuanese": [
        ("什么东西", "啥子东西"), ("为什么", "为啥子"), ("什么", "啥子"), ("不知道", "不晓得"),
        ("知道", "晓得"), ("没有", "莫得"), ("不要", "莫"), ("别", "莫"), ("怎么办", "咋个办"),
        ("怎么", "咋个"), ("一下", "一哈"), ("孩子", "娃儿"), ("现在", "而今"), ("很急", "急得很"),
        ("害怕", "怕得很"), ("骗", "哄"), ("干什么", "做啥子"), ("这样", "这么个"),
        ("吓死了", "吓惨了"), ("老太太", "老婆婆"), ("我们", "我们"), ("很多", "好多"),
        ("不对劲", "不对头"), ("漂亮", "乖"), ("这些", "这些"), ("钱", "钱"),
    ],
    "cantonese": [
        ("怎么办", "点算"), ("为什么", "点解"), ("什么", "咩"), ("没有", "冇"), ("不要", "唔好"),
        ("别", "唔好"), ("不知道", "唔知"), ("不是", "唔系"), ("不能", "唔可以"), ("不", "唔"),
        ("是", "系"), ("他们", "佢哋"), ("她", "佢"), ("他", "佢"), ("我们", "我哋"),
        ("你们", "你哋"), ("这个", "呢个"), ("那个", "嗰个"), ("这些", "呢啲"), ("说", "讲"),
        ("给我", "畀我"), ("给他", "畀佢"), ("看看", "睇睇"), ("看", "睇"), ("现在", "而家"),
        ("的", "嘅"), ("在", "喺"), ("孙子", "孙仔"), ("儿子", "仔"), ("女儿", "女"),
        ("怎么", "点样"), ("一下", "下"), ("东西", "嘢"), ("了,", "咗,"), ("了。", "咗。"),
    ],
    "wu": [
        ("怎么办", "哪能办"), ("怎么", "哪能"), ("什么", "啥"), ("不要", "覅"), ("别", "覅"),
        ("没有", "没"), ("不知道", "勿晓得"), ("知道", "晓得"), ("不", "勿"), ("你们", "㑚"),
        ("你", "侬"),
        ("我们", "阿拉"), ("他们", "伊拉"), ("他", "伊"), ("她", "伊"), ("这个", "迭个"),
        ("这些", "迭眼"), ("说", "讲"), ("东西", "物事"), ("事情", "事体"), ("现在", "现在"),
        ("很", "老"), ("的", "个"), ("孩子", "小囡"), ("孙子", "孙子"), ("老头", "老头子"),
    ],
    "northeastern": [
        ("怎么办", "咋整"), ("干什么", "嘎哈"), ("什么东西", "啥玩意"), ("什么", "啥"),
        ("怎么", "咋"), ("很", "老"), ("非常", "贼"), ("马上", "麻溜"), ("赶紧", "麻溜"),
        ("我", "俺"), ("不知道", "整不明白"), ("这样", "这么整"), ("说话", "唠嗑"),
        ("吓死了", "吓毛了"), ("特别", "贼拉"), ("别人", "旁人"), ("一下", "一下子"),
    ],
}

_OPENERS: dict[str, list[str]] = {
    "mandarin": ["", "", "喂,", "你好,", "同志你好,", "姑娘,我问一下,", "喂喂,听得见吗,",
                 "我想问个事,", "唉,", "小伙子,"],
    "sichuanese": ["喂,妹儿,", "你好嘛,", "妹儿我问哈你,", "喂,我跟你说嘛,", "哎呀,"],
    "cantonese": ["喂,靓女,", "你好呀,", "我想问下,", "唔该,", "喂,"],
    "wu": ["喂,小姑娘,", "侬好,", "我问侬一桩事体,", "喂喂,", "小伙子,"],
    "northeastern": ["哎妈呀,姑娘,", "你好啊,", "喂,老妹儿,", "我跟你说啊,", "哎,"],
}

_CLOSERS: dict[str, list[str]] = {
    "mandarin": ["", "", "这个是真的吗?", "我现在要不要照他说的做?", "你帮我看看。",
                 "我心里慌得很。", "我该怎么办啊?", "我卡里的钱还在不在?", "我这就要去转了。",
                 "他还在电话上等着我。"],
    "sichuanese": ["这个是不是真的嘛?", "我心头慌得很。", "咋个办嘛?", "你帮我看一哈嘛。", ""],
    "cantonese": ["系唔系真嘅呀?", "我好惊呀。", "点算好呀?", "你帮我睇下啦。", ""],
    "wu": ["迭个是真个伐?", "我心里老慌个。", "哪能办呢?", "侬帮我看看。", ""],
    "northeastern": ["这咋整啊?", "俺心里没底。", "这是真的不?", "你给俺瞅瞅。", ""],
}

# Textbook words -> what a caller who does not know the term says instead.
_PLAIN_WORDS: list[tuple[str, list[str]]] = [
    ("安全账户", ["他们给的那个账户", "他说的那个户头", "一个他们管着的账户"]),
    ("国家账户", ["国家的什么户头", "上面的一个账户"]),
    ("监管账户", ["他们管着的户头", "那边的账户"]),
    ("指定账户", ["他给的账户", "一个卡号"]),
    ("指定的账户", ["他给的卡号", "他们那边的户头"]),
    ("涉嫌洗钱", ["跟黑钱有关系", "帮坏人过了钱"]),
    ("洗黑钱", ["过黑钱", "帮人倒腾脏钱"]),
    ("洗钱", ["倒腾黑钱", "过脏钱"]),
    ("通缉令", ["一张要抓我的单子", "一个盖了章的文件"]),
    ("通缉犯", ["要抓的人", "在逃的人"]),
    ("逮捕令", ["抓人的文件", "一张盖章的纸"]),
    ("拘捕证", ["抓人的单子"]),
    ("冻结证", ["冻钱的单子"]),
    ("验证码", ["手机上收到的那几个数字", "短信里那串数", "手机上来的那个码"]),
    ("屏幕共享", ["让他看着我的手机屏幕", "手机画面给他看"]),
    ("共享屏幕", ["让他看我手机上的画面", "把手机屏幕给他看"]),
    ("分享屏幕", ["把屏幕给他看"]),
    ("刷单", ["做单", "拍单"]),
    ("返利", ["返钱", "给点好处"]),
    ("佣金", ["好处费", "辛苦钱"]),
    ("垫付", ["先把钱出了", "自己先掏钱"]),
    ("保证金", ["押金", "担保的钱"]),
    ("解冻金", ["解封的钱"]),
    ("解冻费", ["解封的钱", "解封费"]),
    ("手续费", ["辛苦费", "办事的钱"]),
    ("服务费", ["办事的钱", "辛苦费"]),
    ("全额退保", ["保险的钱一分不少拿回来", "交的保费都要回来"]),
    ("代理退保", ["帮人退保险", "替我去退保险"]),
    ("退保", ["退保险"]),
    ("征信", ["信用记录", "信用"]),
    ("流水", ["进出账", "账上的记录"]),
    ("NFC", ["手机上那个碰一碰的功能"]),
    ("公检法", ["公家的人"]),
    ("涉嫌犯罪", ["犯了法", "有罪"]),
    ("涉案", ["出了事", "跟案子有关"]),
    ("刑警", ["警察", "公家的人"]),
    ("高回报", ["来钱快", "赚得多"]),
    ("高收益", ["赚得多", "利大"]),
    ("稳赚不赔", ["只赚不亏", "不会亏"]),
    ("理赔", ["赔钱"]),
    ("退款", ["退钱", "把钱退给我"]),
    ("双倍赔偿", ["赔我两倍", "多赔我钱"]),
    ("三倍赔偿", ["赔我三倍"]),
    ("假一赔三", ["赔我好几倍"]),
    ("转账", ["打钱过去", "把钱过过去"]),
    ("汇款", ["打钱", "寄钱过去"]),
    ("不要告诉家人", ["家里人都莫讲", "别让家里知道"]),
]


# Words whose characters a substitution must not touch (别人 is not 莫人).
_KEEP = ["别人", "特别", "分别", "区别", "告别", "了解", "不少", "说明"]


def to_dialect(text: str, dialect: str, rng: random.Random, rate: float = 0.8) -> str:
    """Rewrite Mandarin text with the dialect's words, each substitution kept with ``rate``."""
    if dialect == "mandarin":
        return text
    kept = {f"\x00{i}\x00": w for i, w in enumerate(_KEEP)}
    for mark, word in kept.items():
        text = text.replace(word, mark)
    for src, dst in _SUBS[dialect]:
        if src in text and rng.random() < rate:
            text = text.replace(src, dst)
    for mark, word in kept.items():
        text = text.replace(mark, word)
    return text


def soften(text: str, rng: random.Random, rate: float = 0.9) -> str:
    """Replace textbook scam words by how a caller who never heard the term would say it."""
    for word, options in _PLAIN_WORDS:
        if word in text and rng.random() < rate:
            parts = text.split(word)
            text = parts[0] + "".join(rng.choice(options) + p for p in parts[1:])
    return text


def opener(dialect: str, rng: random.Random) -> str:
    return rng.choice(_OPENERS[dialect])


def closer(dialect: str, rng: random.Random) -> str:
    return rng.choice(_CLOSERS[dialect])
