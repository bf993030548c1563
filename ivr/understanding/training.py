"""`ivr train`'s logic: corpora -> two calibrated linear models -> one small artifact.

Why this recipe: tf-idf over character and folded-pinyin n-grams with a logistic regression is
small (a few MB), fast (well under a millisecond per utterance in numpy), explainable (per-n-gram
weights) and robust to the accent and ASR substitutions the pinyin folding absorbs. Platt
calibration (CalibratedClassifierCV, sigmoid) makes the probability a threshold can be set on.

Reproducible: fixed seed, sorted inputs, and the sha256 of every data file is kept in the artifact.
Splits: models are fitted on `train` only; `valid`/`dev` rows are for choices (threshold, C);
`test` and blind rows are only ever scored for reporting.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.understanding.features import features
from ivr.understanding.noise import corrupt
from ivr.understanding.textmodel import TextModel

DATA_DIR = Path(__file__).resolve().parent / "data"
ARTIFACT = Path(__file__).resolve().parent / "models" / "understanding.npz"
SEED = 13
LEGIT = "legit"
NONE = "none"
DEV_SPLITS = ("valid", "dev")
LABEL_COLUMNS = ("intent", "label", "topic")


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    label: str  # intent id, scam category, or legit topic
    dialect: str
    style: str
    noise: str
    split: str
    source: str


def read_rows(path: Path, default_split: str = "") -> list[Row]:
    """A corpus TSV (header row; '#' lines are comments) -> rows."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    out = []
    for rec in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t",
                              quoting=csv.QUOTE_NONE):
        label = next((rec[c] for c in LABEL_COLUMNS if rec.get(c)), "")
        noise = rec.get("noise") or "none"
        style = rec.get("style") or ("asr_noise" if noise != "none" else "plain")
        out.append(Row(rec.get("id", ""), rec["text"], label, rec.get("dialect") or "mandarin",
                       style, noise, rec.get("split") or default_split,
                       rec.get("source") or rec.get("group") or ""))
    return out


def checksum(paths: Iterable[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


def augment(rows: Sequence[Row], rng: random.Random, copies: int = 1) -> list[tuple[str, str]]:
    """Training pairs: each row, plus noisy copies made by code (homophones, mergers, cuts)."""
    out = [(r.text, r.label) for r in rows]
    for r in rows:
        for _ in range(copies):
            noisy = corrupt(r.text, rng, rate=rng.choice((0.1, 0.2)))
            if noisy.edits:
                out.append((noisy.text, r.label))
    return out


def call_windows(scam: Sequence[Row], legit: Sequence[Row], rng: random.Random,
                 n: int) -> list[tuple[str, str]]:
    """Joined utterances as the live path scores them (up to three in a row of one call).

    A legit request before a scam story keeps the scam label; two legit requests stay legit, so
    a long ordinary call does not look like a story just by its length.
    """
    out = []
    for _ in range(n):
        a, b = rng.choice(legit), rng.choice(legit)
        out.append((a.text + b.text, LEGIT))
        s = rng.choice(scam)
        out.append((rng.choice(legit).text + s.text, s.label))
    return out


@dataclass
class Fitted:
    model: TextModel
    sklearn: object  # the calibrated scikit-learn classifier (for the export check)
    vectorizer: object


def fit(name: str, pairs: Sequence[tuple[str, str]], seed: int = SEED, c: float = 8.0,
        min_df: int = 2, max_df: float = 1.0) -> Fitted:
    """tf-idf + logistic regression + sigmoid calibration, exported to plain arrays."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    pairs = sorted(pairs)  # order-independent: the same rows give the same model
    texts = [t for t, _ in pairs]
    labels = [lab for _, lab in pairs]
    vec = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=min_df, max_df=max_df,
                          norm="l2", dtype=np.float64)
    x = vec.fit_transform(texts)
    base = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    clf = CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)
    clf.fit(x, labels)
    inner = clf.calibrated_classifiers_[0]
    est = inner.estimator
    classes = tuple(str(k) for k in clf.classes_)
    if len(classes) < 3:
        raise ValueError(f"{name}: need at least three classes, got {classes}")
    cal_a = np.zeros(len(classes))
    cal_b = np.zeros(len(classes))
    for k, calibrator in enumerate(inner.calibrators):
        cal_a[k], cal_b[k] = calibrator.a_, calibrator.b_
    vocab = {str(f): int(i) for f, i in vec.vocabulary_.items()}
    model = TextModel(name=name, classes=classes, vocab=vocab, idf=vec.idf_.astype(np.float32)
                      .astype(np.float64), coef=est.coef_.astype(np.float32).astype(np.float64),
                      intercept=est.intercept_.astype(np.float64), cal_a=cal_a, cal_b=cal_b)
    return Fitted(model, clf, vec)


def check_export(fitted: Fitted, texts: Sequence[str], tol: float = 1e-3) -> float:
    """Largest gap between scikit-learn's probabilities and the exported model's."""
    ref = fitted.sklearn.predict_proba(fitted.vectorizer.transform(list(texts)))
    gap = 0.0
    for row, text in zip(ref, texts, strict=True):
        ours = fitted.model.proba(text)
        gap = max(gap, max(abs(ours[c] - float(p)) for c, p in zip(fitted.model.classes, row,
                                                                     strict=True)))
    if gap > tol:
        raise RuntimeError(f"{fitted.model.name}: exported model differs by {gap:.2g}")
    return gap


def scam_probability(model: TextModel, text: str) -> float:
    return 1.0 - model.proba(text)[LEGIT]


def save(path: Path, models: Sequence[TextModel], meta: dict) -> None:
    arrays: dict[str, np.ndarray] = {}
    for m in models:
        arrays.update(m.arrays(m.name))
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
