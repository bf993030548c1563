"""Legitimate near-domain requests: the caller's own 退保, transfers, codes, products, relatives.

Why these: they share the scam stories' vocabulary (退保, 转账, 验证码, 警察, 解冻, 手续费,
孙子, 金条) but nobody is pressing the caller; a detector that flags them sends ordinary callers to
the fraud desk. Each template is its own group (`family`): all rows of a template sit in one
split, so the test split holds wordings never seen in training. Templates under BLIND_TEMPLATES
feed only legit_blind.tsv. All are composed for this project (source `composed`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from ivr.understanding.data.wording import DIALECTS, to_dialect

SLOTS: dict[str, list[str]] = {
    "rel": ["儿子", "女儿", "孙子", "外孙", "孙女", "老伴", "闺女", "儿媳妇", "女婿", "外孙女"],
    "amt": ["两千", "五千", "一万", "三万", "五万", "八千", "两万", "十万", "三千块", "一万五"],
    "prod": ["大额存单", "定期存款", "国债", "理财产品", "养老储蓄", "基金定投", "结构性存款",
             "个人养老金账户", "三年定期", "稳健型理财"],
    "ins": ["分红险", "重疾险", "年金险", "意外险", "医疗险", "寿险", "养老保险", "那份保险"],
    "card": ["工资卡", "社保卡", "存折", "借记卡", "养老金那张卡", "信用卡", "储蓄卡", "老年卡"],
    "when": ["昨天", "今天", "上个月", "前几天", "这个月", "去年", "刚才", "上礼拜"],
    "yrs": ["三年", "五年", "十年", "两年", "七八年", "好多年"],
}

_OPEN = ["", "", "", "喂,", "你好,", "同志,", "姑娘,", "麻烦问一下,", "我想问一下,", "小伙子,"]
_CLOSE = ["", "", "", "谢谢啊。", "麻烦你了。", "你跟我说慢一点。", "我年纪大了听不太清。",
          "要带什么证件?", "能不能在电话里办?"]


@dataclass(frozen=True)
class Template:
    topic: str
    text: str
    blind: bool = False

    @property
    def family(self) -> str:
        return "legit:" + hashlib.sha1(self.text.encode("utf-8")).hexdigest()[:10]

    @property
    def source(self) -> str:
        return "composed"


_T: dict[str, list[str]] = {
    "own_surrender": [
        "我{when}买的那份{ins}不想要了,想退保,能退多少钱",
        "我自己去柜台退保要带什么材料",
        "我那个{ins}交了{yrs}了,现在退是不是亏很多",
        "退保的钱是打到我{card}上吗",
        "我想问问{ins}退保要多少天到账",
        "我家{rel}说那个{ins}不划算,让我问问退了能拿回多少",
        "犹豫期过了还能退保吗,我才买了一个多月",
        "我的{ins}是在你们网点买的,退保是不是要本人来",
        "退保有没有手续费,扣多少",
        "我不想退保了,就是想把缴费从每年改成每月行不行",
        "我想查一下我那个{ins}的现金价值是多少",
        "我退保的申请{when}交了,现在到哪一步了",
    ],
    "own_transfer": [
        "我想把{card}里的钱转到我自己另一张卡上,怎么弄",
        "定期到期了,我想转成活期",
        "我给自己的存折转一笔钱,限额是多少",
        "我在手机银行给我自己的账户转账,提示失败了",
        "我要把{amt}从这张卡转到我老伴的卡上,她就在我旁边",
        "跨行转到我自己的卡要不要手续费",
        "我每个月给我{rel}转生活费,能不能设个自动转",
        "转账转错了一个数字,钱转到别人那去了怎么办",
        "我想把几张卡的钱合到一张卡上",
        "我{when}转的钱对方说还没到,帮我查查",
        "我要交房租给房东,转账的时候要填什么",
        "我在柜台转账要带身份证吗",
    ],
    "code_missing": [
        "验证码一直收不到,手机银行登不进去",
        "我点了发送验证码,等了好半天也没短信",
        "我换了手机号,验证码还发到老号上了怎么办",
        "你们的验证码发到哪个号码上了,我怎么没收到",
        "验证码过期了,再发一次还是收不到",
        "短信验证码是不是被手机拦截了,我找不到",
        "我手机没信号收不到验证码,能不能用别的办法",
        "我自己在手机上输验证码输了三次都不对,是不是锁了",
        "付款的时候要验证码,我没收到,钱扣了没有",
        "我{rel}帮我弄手机银行,说收不到验证码",
    ],
    "police_involved": [
        "我被骗了,已经报警了,派出所叫我打电话来把卡冻上",
        "我已经在派出所做完笔录了,民警让我来银行打流水",
        "警察同志让我来问一下我的卡能不能先止付",
        "我{when}报了案,回执拿到了,卡里的钱能不能追回来",
        "派出所的民警就在我旁边,他要跟你们说话",
        "社区民警上门提醒我了,我想把卡的转账限额调低一点",
        "我去派出所报案了,他们说要银行出一个交易明细",
        "民警叫我把那个可疑的账户报给你们,帮忙看一下",
        "我的钱被骗了,公安已经立案了,下一步银行这边要干什么",
        "我在公安局,警察让我给你们打电话核实我的账户",
    ],
    "bank_app": [
        "你们的手机银行怎么下载,在应用商店搜什么",
        "手机银行的登录密码忘了怎么重置",
        "我想在你们的APP上看看养老金到没到",
        "手机银行上转账的限额在哪里改",
        "你们APP里有没有大字版,我看不清",
        "我{rel}帮我装了你们的官方APP,怎么绑卡",
        "手机银行刷脸老是不成功怎么办",
        "我想把手机银行注销掉,我不会用",
        "手机银行提示要升级,是在哪里升级",
        "你们APP里的余额跟我存折上的对不上",
        "网上银行的U盾丢了怎么办",
    ],
    "bank_products": [
        "你们银行的{prod}现在利息多少",
        "我有{amt}想存个{prod},哪个划算",
        "你们的理财产品会不会亏本,我只要保本的",
        "国债什么时候发行,我想买一点",
        "你们那个养老理财是不是要到柜台买",
        "我的{prod}快到期了,到期了自动转存吗",
        "你们有没有适合老年人的{prod}",
        "大额存单起存多少钱",
        "我{when}买的{prod}能不能提前取出来",
        "你们银行的基金我买了亏了,能不能帮我看看",
        "个人养老金账户开了有什么好处",
        "我想问问你们的{prod}是不是存款保险保着的",
    ],
    "relatives_present": [
        "我{rel}在旁边,他帮我问一下怎么开手机银行",
        "我想给{rel}转{amt}结婚用,他就在我身边",
        "我{rel}陪我来的,能不能让他帮我签字",
        "孙子考上大学了,我想给他转{amt}学费,怎么转最快",
        "我{rel}替我打的这个电话,我耳朵不好",
        "我跟{rel}一起在网点,他想把我的卡挂到他手机上看着",
        "我想给{rel}开一张卡,我来存钱",
        "我{rel}要买房,我想把我的定期取出来给他",
        "老伴住院了,我想替她取点钱交住院费",
        "我{rel}让我把存折的密码改一下,他在旁边教我",
    ],
    "scam_question": [
        "听说有人冒充公安打电话骗老人,你们银行会不会打电话要验证码",
        "你们银行有没有什么安全账户,我听电视上说是骗人的",
        "国家反诈中心那个APP怎么装,我想装一个",
        "我想给我妈讲讲冒充客服退款的骗局,你们有没有宣传的资料",
        "怎么设置一下,别人要我转大钱的时候银行能提醒我",
        "代理退保是不是骗人的,我在电视上看到的",
        "你们能不能帮我把卡的非柜面转账关掉,我怕被骗",
        "刷单是不是都是骗子,我孙女问我的",
        "听说银行卡贴在手机上会被偷钱,是真的吗,我怎么防",
        "社区讲座说不要把验证码告诉别人,那你们银行的人会问吗",
        "我怎么知道打给我的是不是真的银行客服",
        "你们有没有防骗的讲座,我们小区的老人想去听",
    ],
    "card_frozen_lost": [
        "我的{card}好久没用了,现在被冻结了,怎么解冻",
        "我密码输错三次,卡被锁了,要怎么解开",
        "我的{card}丢了,要挂失",
        "我的卡被吞了,就在你们的取款机上",
        "我的卡过期了,要换新卡",
        "我的{card}是不是被冻结了,转不出去钱",
        "身份证过期了,卡就用不了了,要怎么更新",
        "我存折找不到了,里面还有钱,怎么补",
        "我的卡磁条坏了刷不出来",
        "卡挂失了又找到了,能不能解挂",
    ],
    "loan_own": [
        "我房贷这个月要还多少,哪天扣",
        "我想提前还一部分贷款,有没有手续费",
        "我想查一下我自己的征信报告,去哪里打",
        "我{rel}要贷款买车,我能不能给他担保",
        "我的信用卡账单怎么分期",
        "我贷款都还清了,抵押怎么解除",
        "你们银行的装修贷款利息是多少",
        "我信用卡逾期了两天,会不会影响征信",
        "我的贷款扣款卡换了一张,要去哪里改",
        "我想给我的小店贷点款周转,要什么条件",
    ],
    "pension_social": [
        "我的养老金这个月怎么还没到账",
        "社保卡激活要带什么证件",
        "医保卡丢了怎么补办",
        "我想查查医保账户里还有多少钱",
        "养老金涨了没有,我看卡上还是老样子",
        "我的社保卡换成第三代了,老卡里的钱怎么办",
        "老年人的高龄补贴是打到哪张卡上",
        "我去外地看病,医保要怎么备案",
        "我{rel}帮我交的城乡居民养老保险,交上了没有",
        "领养老金要每年认证吗,在手机上怎么认证",
    ],
    "insurance_claim_own": [
        "我住院了想申请理赔,要准备哪些材料",
        "我{when}摔了一跤骨折了,意外险怎么理赔",
        "理赔的钱打到哪张卡上",
        "我交的{ins}报销的单子要原件吗",
        "我的理赔申请交了半个月了,还没消息",
        "我老伴走了,他那份寿险要怎么申请",
        "我的医疗险能不能报门诊的钱",
        "理赔被拒了,我想问问是为什么",
    ],
    "cash_withdrawal": [
        "我想取{amt}现金,要不要提前预约",
        "我要取五万块给孙子交学费,他就在外面等我",
        "取大钱要带什么,我想取出来家里装修用",
        "我想把定期取出来一部分,利息怎么算",
        "你们取款机一天最多能取多少",
        "我想换点新钱过年给孙子发红包",
        "我腿脚不方便,能不能让我{rel}替我去取钱",
        "存折里的钱能不能在别的网点取",
    ],
    "gold_buy": [
        "你们银行有没有金条卖,我想买一根给孙女当嫁妆",
        "你们的积存金怎么买,一克多少钱",
        "我想把家里的金条卖回给银行行不行",
        "银行的金条跟金店的有什么不一样",
        "给孙子买个生肖金条,你们网点有现货吗",
        "我{when}在你们这买的金条,发票丢了还能回购吗",
    ],
    "shopping_refund_own": [
        "我在网上退了货,钱退回银行卡要几天",
        "我买东西多扣了一次钱,怎么退回来",
        "超市刷卡付错了,商家说给我退,多久到账",
        "我在手机上开的一个会员,自己想取消自动续费,在哪里关",
        "快递丢了,我自己在购物软件里申请了退款,钱退到卡上了吗",
        "我{when}网购付了钱,商家没发货,我在平台上投诉了,银行能看到钱退了没有",
    ],
    "phone_help": [
        "手机上那个NFC刷公交卡怎么开,我{rel}说可以刷",
        "我想让{rel}在视频里教我用手机银行,你们有没有教程",
        "我手机屏幕太小看不清,手机银行的字能不能调大",
        "我用手机扫码付款,付款码在哪里找",
        "我换了新手机,手机银行要重新登录吗",
        "手机银行能不能设置成只能查不能转",
    ],
}

# Written for the blind set only: never used for any choice, never in train/dev/test.
BLIND_TEMPLATES: dict[str, list[str]] = {
    "own_surrender": ["我那份保险交不起了,想办个减额缴清,不退保行不行",
                      "退保以后还能不能重新买,年纪大了怕买不了"],
    "own_transfer": ["我想把老伴卡上的钱转到我卡上,她人在医院,要什么手续",
                     "每个月给{rel}打钱太麻烦了,能不能在手机上存个常用的收款人"],
    "code_missing": ["我在柜台开的手机银行,回家一登录就说验证码发不出来"],
    "police_involved": ["我被人骗了三千块,报警了,民警说让我问一下银行这个账户能不能查到"],
    "bank_app": ["你们手机银行上那个养老金专区在哪里,我找不到"],
    "bank_products": ["我这{amt}放活期太亏了,你们有没有三年的,利息高一点的"],
    "relatives_present": ["我{rel}在我旁边,他要帮我把手机银行的字调大"],
    "scam_question": ["我们老年大学让我问问,怎么分辨冒充公检法的电话",
                      "有人说保险可以全额退,我觉得不对,没理他,你们这边正规退保是怎么退的"],
    "card_frozen_lost": ["我的卡好几年没动了,说是成了睡眠户,要怎么重新用起来"],
    "loan_own": ["我的房贷利率能不能降一降,别人说可以申请"],
    "pension_social": ["我退休了,养老金每个月几号发到卡上"],
    "cash_withdrawal": ["我要取两万块给我老伴做手术,医院就在你们网点旁边"],
    "gold_buy": ["你们这个月有没有纪念金币,我想给孙子留一个"],
}


def _templates() -> list[Template]:
    out = [Template(topic, t) for topic, ts in _T.items() for t in ts]
    out += [Template(topic, t, blind=True) for topic, ts in BLIND_TEMPLATES.items() for t in ts]
    return out


TEMPLATES: list[Template] = _templates()
FAMILIES = TEMPLATES
ROWS_PER_TEMPLATE = 15
ROWS_PER_BLIND_TEMPLATE = 14


def expand(tpl: Template, rng: random.Random) -> Iterator[tuple[str, str]]:
    """Wordings of one template: slots filled, openers/closers, ~45% in a regional wording."""
    n = ROWS_PER_BLIND_TEMPLATE if tpl.blind else ROWS_PER_TEMPLATE
    for _ in range(n):
        text = tpl.text
        for slot, values in SLOTS.items():
            while "{" + slot + "}" in text:
                text = text.replace("{" + slot + "}", rng.choice(values), 1)
        dialect = rng.choice(DIALECTS) if rng.random() < 0.45 else "mandarin"
        text = rng.choice(_OPEN) + text + "," + rng.choice(_CLOSE)
        yield to_dialect(text, dialect, rng), dialect
