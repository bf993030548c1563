"""The console speaks the agents' language: every code the queue carries has Chinese words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.config.loader import load_config
from ivr.routing import console_text as T
from tests.helpers import make_settings

CJK = re.compile(r"[\u4e00-\u9fff]")
FLOW_REASONS = ["caller_request", "no_input", "wrong_keys", "elder_direct", "elder_self",
                "elder_line", "elder_any_key", "scam_risk", "recovered"]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(make_settings(tmp_path_factory.mktemp("cfg"), None))


def test_every_transfer_reason_has_chinese_words(config):
    menu_reasons = [o.action.reason for n in config.menus.nodes.values() for o in n.options
                    if o.action.type == "transfer"]
    assert menu_reasons
    for code in FLOW_REASONS + menu_reasons:
        words = T.reason_label(code, config)
        assert CJK.search(words) and code not in words, code


def test_an_entry_is_labelled_in_chinese(config):
    entry = {"priority": "scam", "callback": True, "status": "dequeued", "context": {
        "elder": True, "dialect": "sichuanese", "reason": "loan", "flags": ["watch_list"],
        "menu_path": ["main", "account", "info:1", "transfer:loan"],
        "scam": {"category": "police_impersonation"}}}
    words = T.labels(entry, config)
    assert words["badges"] == ["诈骗风险", "长者", "回电"]
    assert words["reason"] == "贷款业务" and words["dialect"] == "四川话"
    assert words["path"] == ["主菜单", "账户和银行卡", "听取信息（按1）", "转人工：贷款业务"]
    assert words["flags"] == ["关注名单"] and words["status"] == "正在转接"
    assert words["scam"] == "冒充公检法"
    unknown = T.labels({"priority": "normal", "context": {"reason": "new_code"}}, config)
    assert unknown["reason"] == "new_code" and unknown["scam"] == "无"  # shown, never lost


def test_page_script_has_no_words_of_its_own():
    js = (Path(T.__file__).parent / "static" / "console.js").read_text(encoding="utf-8")
    assert not CJK.search(js), "console.js must take its words from console_text.py"
    assert all(CJK.search(v) for v in T.PAGE.values())
    assert all(CJK.search(v) for v in T.ERRORS.values())
