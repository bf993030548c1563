"""The independent held-out set stays well-formed: labels the product knows, counts the issue asks.

It is measurement data only (see its README); this test guards its format, not any model result.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "ivr" / "understanding" / "data" / "eval_independent"
DIALECTS = {"mandarin", "sichuanese", "cantonese", "wu", "northeastern"}
STYLES = {"plain", "indirect", "dialect", "asr_noise", "multi_sentence"}
TEXTBOOK = ("安全账户", "验证码", "公检法", "洗钱", "刷单", "屏幕共享", "共享屏幕", "解冻费",
            "解冻金", "代理退保", "征信", "诈骗", "骗子", "通缉", "逮捕令", "内幕消息", "稳赚不赔",
            "百万保障")


def _rows(name: str, header: list[str]) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == header
        rows = list(reader)
    for row in rows:
        assert all(row[k] and row[k].strip() == row[k] for k in header), row
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows}) == len(rows)
    return rows


def _scam_categories() -> set[str]:
    doc = yaml.safe_load((ROOT / "config" / "scam.yaml").read_text(encoding="utf-8"))
    return set(doc["categories"])


def _intent_ids() -> set[str]:
    doc = yaml.safe_load((ROOT / "grammars" / "mandarin.yaml").read_text(encoding="utf-8"))
    return {str(k) for k in doc["intents"]}


def test_scam_rows_cover_every_category_from_public_pages() -> None:
    rows = _rows("scam.tsv", ["id", "text", "label", "style", "dialect", "source"])
    categories = _scam_categories()
    counts = Counter(r["label"] for r in rows)
    assert len(rows) >= 250
    assert set(counts) == categories
    assert min(counts.values()) >= 25
    for r in rows:
        assert r["style"] in STYLES and r["dialect"] in DIALECTS, r
        assert r["source"].startswith(("http://", "https://")), r
    assert len({r["source"] for r in rows}) >= 60


def test_indirect_scam_rows_avoid_textbook_words() -> None:
    rows = _rows("scam.tsv", ["id", "text", "label", "style", "dialect", "source"])
    indirect = [r for r in rows if r["style"] == "indirect"]
    assert len(indirect) >= 100
    offenders = [(r["id"], w) for r in indirect for w in TEXTBOOK if w in r["text"]]
    assert offenders == []


def test_legit_rows_are_composed_near_domain_requests() -> None:
    rows = _rows("legit.tsv", ["id", "text", "topic", "style", "dialect", "source"])
    assert len(rows) >= 250
    topics = Counter(r["topic"] for r in rows)
    for needed in ("own_surrender", "own_transfer", "code_not_arriving", "police_involved",
                   "relatives_present", "scam_question", "loan", "pension", "card_lost"):
        assert topics[needed] >= 10, needed
    for r in rows:
        assert r["source"] == "composed" and r["style"] in STYLES and r["dialect"] in DIALECTS, r


def test_length_matched_legit_rows_are_story_length() -> None:
    rows = _rows("legit_long.tsv", ["id", "text", "topic", "style", "dialect", "source"])
    lengths = sorted(len(r["text"]) for r in rows)
    assert len(rows) >= 50 and lengths[len(lengths) // 2] >= 50
    short = {r["text"] for r in _rows("legit.tsv", ["id", "text", "topic", "style", "dialect",
                                                    "source"])}
    for r in rows:
        assert r["source"] == "composed" and r["style"] in STYLES and r["dialect"] in DIALECTS, r
        assert r["text"] not in short


def test_intent_rows_use_grammar_ids_with_enough_per_intent() -> None:
    rows = _rows("intents.tsv", ["id", "text", "intent", "style", "dialect", "source"])
    ids = _intent_ids()
    counts = Counter(r["intent"] for r in rows)
    assert set(counts) <= ids | {"none"}
    for intent in ids:
        assert counts[intent] >= 15, intent
    assert counts["none"] >= 30
    for r in rows:
        assert r["source"] == "composed" and r["dialect"] in DIALECTS, r
        assert r["style"] in STYLES | {"hard_negative"}, r


def test_no_product_code_reads_the_set() -> None:
    """Held-out means held out: nothing under ivr/ names these files."""
    sources = (ROOT / "ivr").rglob("*.py")
    hits = [p for p in sources if "eval_independent" in p.read_text(encoding="utf-8")]
    assert hits == []
