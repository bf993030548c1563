"""Build the scam / legit utterance corpus from hand-written case facts and request templates.

Why generated from facts: each public case (police notice, court or insurer case) is written once
in `cases.tsv` as a victim would put it (who called, what they claimed, what they demanded, the
pressure), and expanded here into several first-person wordings: different sentence orders,
regional wording, and keyword-free paraphrase. Every row keeps the case page's URL, and all rows
of one page fall in one split, so a model is scored on stories it has never seen.

Run: python -m ivr.understanding.data.build_corpus   (deterministic; rewrites the TSV files)
"""

from __future__ import annotations

import csv
import hashlib
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ivr.understanding.data import legit_templates
from ivr.understanding.data.wording import DIALECTS, closer, opener, soften, to_dialect

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SCAM_COLUMNS = ["id", "text", "label", "style", "dialect", "keyword", "noise", "source", "group",
                "split"]
LEGIT_COLUMNS = ["id", "text", "topic", "style", "dialect", "keyword", "noise", "source", "group",
                 "split"]
SPLITS = ("train", "dev", "test")
BLIND = "blind"
ROWS_PER_CASE = 8
ROWS_PER_BLIND_CASE = 9

_WHEN = ["前两天", "昨天", "今天早上", "刚才", "上个礼拜", "这几天", "昨天晚上", "前天下午", "",
         "", "今天一大早", "上午"]


@dataclass(frozen=True)
class Case:
    url: str
    label: str
    split: str
    actor: list[str]
    claim: list[str]
    demand: list[str]
    pressure: list[str]
    extra: list[str]


def _alts(field: str) -> list[str]:
    field = (field or "").strip()
    return [] if field in ("", "-") else [p.strip() for p in field.split("|") if p.strip()]


def load_cases(path: Path = HERE / "cases.tsv") -> list[Case]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    cases = []
    for r in rows:
        cases.append(Case(url=r["url"].strip(), label=r["label"].strip(),
                          split=(r.get("split") or "").strip(), actor=_alts(r["actor"]),
                          claim=_alts(r["claim"]), demand=_alts(r["demand"]),
                          pressure=_alts(r["pressure"]), extra=_alts(r["extra"])))
    return cases


def split_for(key: str, explicit: str = "") -> str:
    """A page's (or template family's) split: explicit `blind`, else a stable 70/15/15 hash."""
    if explicit:
        return explicit
    h = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if h < 70 else ("dev" if h < 85 else "test")


def strong_phrases(path: Path = REPO / "config" / "scam.yaml", floor: float = 0.5) -> list[str]:
    """Lexicon phrases that weigh enough to matter on their own: a row without any is 'indirect'."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for cat in data["categories"].values():
        for phrase, w in cat["phrases"].items():
            weight = w["weight"] if isinstance(w, dict) else w
            if weight >= floor:
                out.append(str(phrase))
    return sorted(set(out))


def has_keyword(text: str, phrases: Iterable[str]) -> bool:
    upper = text.upper()
    return any(p.upper() in upper for p in phrases)


def tidy(text: str) -> str:
    """Join slot pieces into one spoken line: no doubled or leading punctuation."""
    for a, b in ((",,", ","), (",。", "。"), ("。,", "。"), ("。。", "。"), ("?。", "?"),
                 ("。?", "?"), (",?", "?"), ("??", "?")):
        while a in text:
            text = text.replace(a, b)
    parts = text.split(",")
    text = ",".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])
    text = text.replace("一笔一笔", "一笔").replace("还后来", "后来").strip(",。 ")
    if text and text[-1] not in "。?!":
        text += "。"
    return text


def _pick(rng: random.Random, items: list[str], default: str = "") -> str:
    return rng.choice(items) if items else default


def _scam_templates() -> list[str]:
    # {o} opener {w} when {a} actor {c} claim {d} demand {p} pressure {x} extra {z} closer
    return [
        "{o}{w}{a}联系我,{c},{d}。{p}。{z}",
        "{o}我碰到个事,{w}{a},{c}。{d},{p}。{z}",
        "{o}是这样的,{a}{c},{d}。{x}。{z}",
        "{o}{d},是{a}讲的,{c}。{z}",
        "{o}{w}有{a}找我,{c}。{p},{d}。{z}",
        "{o}{a}{c},还{d},{p}。{z}",
        "{o}我问一下,{a}{c},{d},我是不是得照他说的办?",
        "{o}{w}{a}跟我说了半天,{c}。{x},{d}。{z}",
    ]


def _fragment_templates() -> list[str]:
    # A fragment still holds two pieces of the story (who or what was claimed, and the demand):
    # one bare clause is not evidence a person could act on either.
    return ["{o}{a},{d}。", "{o}{c},{d}。", "{o}{a}{c}。{d}。", "{o}{d},{a}讲的。{z}"]


def scam_rows_for_case(case: Case, phrases: list[str]) -> list[dict[str, str]]:
    """The rows of one case: plain, softened (keyword-free where possible), fragment, dialect."""
    key = hashlib.sha1(case.url.encode("utf-8")).hexdigest()[:8]
    rng = random.Random(int(key, 16))
    split = split_for(case.url, case.split)
    n = ROWS_PER_BLIND_CASE if split == BLIND else ROWS_PER_CASE
    dialects = list(DIALECTS)
    rng.shuffle(dialects)
    # (dialect, soften?, fragment?) per row; two dialect rows per case, rotating the dialects.
    plan = [("mandarin", False, False), ("mandarin", True, False), ("mandarin", False, False),
            ("mandarin", True, True), (dialects[0], False, False), (dialects[1], True, False),
            ("mandarin", True, False), (dialects[2], False, True), (dialects[3], True, False)][:n]
    rows, seen = [], set()
    for k, (dialect, soft, frag) in enumerate(plan):
        for _attempt in range(12):
            tpl = rng.choice(_fragment_templates() if frag else _scam_templates())
            text = tpl.format(
                o=opener(dialect, rng) if rng.random() < 0.6 else "", w=rng.choice(_WHEN),
                a=_pick(rng, case.actor, "有个人"), c=_pick(rng, case.claim),
                d=_pick(rng, case.demand), p=_pick(rng, case.pressure),
                x=_pick(rng, case.extra), z=closer(dialect, rng) if rng.random() < 0.7 else "")
            if soft:
                text = soften(text, rng)
            text = tidy(to_dialect(text, dialect, rng))
            if text not in seen:
                break
        if text in seen:
            continue
        seen.add(text)
        kw = has_keyword(text, phrases)
        style = ("dialect" if dialect != "mandarin" else "fragment" if frag
                 else "indirect" if not kw else "plain")
        rows.append({"id": f"s{key}-{k}", "text": text, "label": case.label, "style": style,
                     "dialect": dialect, "keyword": "yes" if kw else "no", "noise": "none",
                     "source": case.url, "group": case.url, "split": split})
    return rows


def legit_rows(phrases: list[str]) -> list[dict[str, str]]:
    rows = []
    for fam in legit_templates.FAMILIES:
        key = hashlib.sha1(fam.family.encode("utf-8")).hexdigest()[:8]
        rng = random.Random(int(key, 16))
        split = split_for(fam.family, BLIND if fam.blind else "")
        seen: set[str] = set()
        for k, (text, dialect) in enumerate(legit_templates.expand(fam, rng)):
            text = tidy(text)
            if text in seen:
                continue
            seen.add(text)
            kw = has_keyword(text, phrases)
            style = "dialect" if dialect != "mandarin" else "plain"
            rows.append({"id": f"l{key}-{k}", "text": text, "topic": fam.topic, "style": style,
                         "dialect": dialect, "keyword": "yes" if kw else "no", "noise": "none",
                         "source": fam.source, "group": fam.family, "split": split})
    return rows


def write_tsv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, delimiter="\t", lineterminator="\n",
                           quoting=csv.QUOTE_NONE, escapechar="\\")
        w.writeheader()
        for r in rows:
            w.writerow({c: r[c] for c in columns})


def write_sources(cases: list[Case], path: Path) -> None:
    """One row per page; `title` is our one-line summary of its case, not the page's headline."""
    rows = [{"url": c.url, "title": f"{_pick_first(c.actor)}:{_pick_first(c.claim)}"[:80],
             "category": c.label, "split": split_for(c.url, c.split)} for c in cases]
    write_tsv(path, ["url", "title", "category", "split"], rows)


def _pick_first(items: list[str]) -> str:
    return items[0] if items else ""


def build(out_dir: Path = HERE, rewrite_blind: bool = False) -> dict[str, int]:
    phrases = strong_phrases()
    cases = load_cases()
    urls = [c.url for c in cases]
    dup = {u for u in urls if urls.count(u) > 1}
    if dup:
        raise SystemExit(f"cases.tsv lists a page twice: {sorted(dup)[:3]}")
    scam = [r for c in cases for r in scam_rows_for_case(c, phrases)]
    legit = legit_rows(phrases)
    write_tsv(out_dir / "scam.tsv", SCAM_COLUMNS, [r for r in scam if r["split"] != BLIND])
    write_tsv(out_dir / "legit.tsv", LEGIT_COLUMNS, [r for r in legit if r["split"] != BLIND])
    if rewrite_blind:
        write_tsv(out_dir / "scam_blind.tsv", SCAM_COLUMNS,
                  [r for r in scam if r["split"] == BLIND])
        write_tsv(out_dir / "legit_blind.tsv", LEGIT_COLUMNS,
                  [r for r in legit if r["split"] == BLIND])
    write_sources(cases, out_dir / "sources.tsv")
    return {"cases": len(cases), "scam": len(scam), "legit": len(legit)}


if __name__ == "__main__":
    # The blind files were written once, before modelling (2026-11-29 09:13 UTC), and stay frozen:
    # later changes to wording or templates must not move them. --rewrite-blind overrides.
    print(build(rewrite_blind="--rewrite-blind" in sys.argv))
