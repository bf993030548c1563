"""The scam/legit corpus files: columns, labels, provenance, splits by page, sizes.

A model trained and scored on these files is only honest if rows of one source page never sit in
two splits, the blind set shares no page with anything else, and every scam row says where its
case came from. These tests read the committed TSVs, and rebuild them to prove they are exactly
what the builder makes from cases.tsv and the templates (no hand edits drifting from the source).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ivr.understanding.data import build_corpus
from tests.conftest import REPO

DATA = REPO / "ivr" / "understanding" / "data"
SCAM_COLS = {"id", "text", "label", "style", "dialect", "source", "split"}
LEGIT_COLS = {"id", "text", "topic", "style", "dialect", "source", "split"}
DIALECTS = {"mandarin", "sichuanese", "cantonese", "wu", "northeastern"}
STYLES = {"plain", "dialect", "indirect", "fragment"}
URL = re.compile(r"^https?://\S+$")

# Thresholds of issue 13.
MIN_SCAM_ROWS = 2000
MIN_LEGIT_ROWS = 2000
MIN_BLIND_ROWS = 200
MIN_PAGES = 300


def read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def scam():
    return read("scam.tsv")[1]


@pytest.fixture(scope="module")
def legit():
    return read("legit.tsv")[1]


@pytest.fixture(scope="module")
def scam_blind():
    return read("scam_blind.tsv")[1]


@pytest.fixture(scope="module")
def legit_blind():
    return read("legit_blind.tsv")[1]


def norm(text: str) -> str:
    return re.sub(r"[\s,。?!、,.?!]", "", text)


@pytest.mark.parametrize("name,cols", [("scam.tsv", SCAM_COLS), ("scam_blind.tsv", SCAM_COLS),
                                       ("legit.tsv", LEGIT_COLS), ("legit_blind.tsv", LEGIT_COLS)])
def test_columns_and_cell_values(name, cols):
    header, rows = read(name)
    assert cols <= set(header), f"{name} lacks {cols - set(header)}"
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"{name} repeats an id"
    for r in rows:
        assert None not in r, f"{name}: row {r['id']} has extra cells (a tab in the text?)"
        assert r["text"].strip() and "\t" not in r["text"]
        assert r["dialect"] in DIALECTS, r
        if r["style"] not in STYLES:
            raise AssertionError(f"{name}: unknown style {r['style']!r}")


def test_scam_labels_are_lexicon_categories_and_all_are_covered(scam, scam_blind, lexicon):
    cats = set(lexicon.categories)
    assert {r["label"] for r in scam + scam_blind} <= cats
    per_split = defaultdict(set)
    for r in scam:
        per_split[r["split"]].add(r["label"])
    assert per_split["train"] == cats, f"train misses {cats - per_split['train']}"


def test_every_scam_row_names_its_public_page(scam, scam_blind):
    sources = {line.split("\t")[0] for line in
               (DATA / "sources.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    for r in scam + scam_blind:
        assert URL.match(r["source"]), f"{r['id']} source is not a URL: {r['source']!r}"
        assert r["source"] in sources, f"{r['id']} source missing from sources.tsv"


def test_legit_source_is_url_or_composed(legit, legit_blind):
    for r in legit + legit_blind:
        assert r["source"] == "composed" or URL.match(r["source"]), r


def test_splits_are_known_and_blind_files_hold_only_blind(scam, legit, scam_blind, legit_blind):
    assert {r["split"] for r in scam} == {"train", "dev", "test"}
    assert {r["split"] for r in legit} == {"train", "dev", "test"}
    assert {r["split"] for r in scam_blind} == {"blind"}
    assert {r["split"] for r in legit_blind} == {"blind"}


@pytest.mark.parametrize("key", ["source", "group"])
def test_a_page_or_template_lives_in_exactly_one_split(scam, legit, scam_blind, legit_blind, key):
    for rows in (scam + scam_blind, legit + legit_blind):
        where = defaultdict(set)
        for r in rows:
            if key == "source" and r["source"] == "composed":
                continue
            where[r[key]].add(r["split"])
        spread = {k: v for k, v in where.items() if len(v) > 1}
        assert not spread, f"{key} in several splits: {list(spread.items())[:3]}"


def test_no_utterance_is_repeated_across_splits(scam, legit, scam_blind, legit_blind):
    seen: dict[str, str] = {}
    for r in scam + legit + scam_blind + legit_blind:
        t = norm(r["text"])
        other = seen.setdefault(t, r["split"])
        assert other == r["split"], f"{r['text']!r} in {other} and {r['split']}"


def test_no_text_is_both_scam_and_legit(scam, legit, scam_blind, legit_blind):
    s = {norm(r["text"]) for r in scam + scam_blind}
    overlap = s & {norm(r["text"]) for r in legit + legit_blind}
    assert not overlap, sorted(overlap)[:3]


def test_sizes_meet_the_issue(scam, legit, scam_blind, legit_blind):
    assert len(scam) >= MIN_SCAM_ROWS
    assert len(legit) >= MIN_LEGIT_ROWS
    assert len(scam_blind) >= MIN_BLIND_ROWS
    assert len(legit_blind) >= MIN_BLIND_ROWS
    pages = {r["source"] for r in scam + scam_blind}
    assert len(pages) >= MIN_PAGES


def test_many_scam_rows_lack_any_textbook_keyword(scam):
    """The point of the corpus: stories the lexicon's strong phrases alone would miss.

    `keyword` was computed against config/scam.yaml when the files were built (see README).
    """
    assert {r["keyword"] for r in scam} == {"yes", "no"}
    bare = [r for r in scam if r["keyword"] == "no"]
    assert len(bare) / len(scam) >= 0.4
    assert all(r["style"] != "plain" for r in bare)


def test_regional_wordings_are_all_present(scam, legit):
    for rows in (scam, legit):
        counts = Counter(r["dialect"] for r in rows)
        assert set(counts) == DIALECTS
        assert min(counts.values()) >= 0.05 * len(rows)


# `style` and `keyword` depend on config/scam.yaml at build time; a lexicon edit must not fail this.
STABLE = ("id", "text", "label", "topic", "dialect", "source", "group", "split", "url", "category")


def test_files_are_what_the_builder_makes(tmp_path: Path):
    build_corpus.build(tmp_path)
    assert not (tmp_path / "scam_blind.tsv").exists(), "a plain rebuild must leave blind alone"
    for name in ("scam.tsv", "legit.tsv", "sources.tsv"):
        def stable(path: Path) -> list[tuple[str, ...]]:
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                return [tuple(r[c] for c in STABLE if c in r) for r in reader]
        assert stable(tmp_path / name) == stable(DATA / name), (
            f"{name} differs from a rebuild: run python -m ivr.understanding.data.build_corpus")
