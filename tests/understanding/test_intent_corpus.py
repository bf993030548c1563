"""intents.tsv is exactly what compose_intents.py makes from the core files, one row per sentence.

A sentence under two intents would teach the model both answers; one in two splits would let the
test split score a row the model was trained on; a hand edit would drift from the cores.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from ivr.understanding import training as tr
from ivr.understanding.data import compose_intents


@pytest.fixture(scope="module")
def rows():
    return tr.read_rows(tr.DATA_DIR / "intents.tsv")


def test_committed_file_equals_a_rebuild(rows):
    built = compose_intents.compose()
    assert [(r["text"], r["intent"], r["dialect"], r["split"], r["noise"]) for r in built] == [
        (r.text, r.label, r.dialect, r.split, r.noise) for r in rows
    ], "intents.tsv differs: run python ivr/understanding/data/compose_intents.py"


def test_a_sentence_has_one_intent_and_one_split(rows):
    where = defaultdict(set)
    for r in rows:
        where[r.text].add((r.label, r.split))
    assert not {t: w for t, w in where.items() if len(w) > 1}


def test_a_core_under_two_intents_is_refused(tmp_path: Path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("loan:\n  mandarin: [借点钱]\n", encoding="utf-8")
    b.write_text("none:\n  mandarin: [借点钱]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="借点钱"):
        compose_intents.load_cores((a, b))
    b.write_text("loan:\n  wu: [借点钱, 借钞票]\n", encoding="utf-8")
    assert compose_intents.load_cores((a, b)) == {"loan": {"mandarin": ["借点钱"],
                                                           "wu": ["借点钱", "借钞票"]}}


def test_every_intent_has_enough_rows_in_every_split(rows):
    count = defaultdict(int)
    for r in rows:
        count[(r.label, r.split)] += 1
    labels = {r.label for r in rows}
    assert all(sum(count[(lab, s)] for s in ("train", "valid", "test")) >= 150 for lab in labels)
    assert all(count[(lab, "train")] >= 100 for lab in labels)
