"""A trained linear text classifier as plain arrays: tf-idf -> linear -> calibrated probability.

Why not a pickled scikit-learn object: a pickle runs code on load and breaks across library
versions; these arrays (vocabulary, idf, weights, Platt calibration) are read with numpy alone, the
math is a few lines, and the weights explain a decision (which n-grams weighed most). `ivr train`
checks that this code gives scikit-learn's probabilities before it writes the artifact.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ivr.understanding.features import features


@dataclass(frozen=True)
class Contribution:
    """One feature's push toward a class (positive) or away from it."""

    feature: str
    weight: float

    @property
    def units(self) -> int:
        """Characters or syllables the n-gram spans (boundary marks not counted)."""
        kind, _, body = self.feature.partition(":")
        if kind == "p":
            return sum(1 for s in body.split(" ") if s not in ("^", "$"))
        return len(body.replace("^", "").replace("$", ""))

    @property
    def shown(self) -> str:
        """'c:转钱' -> '转钱'; pinyin grams keep their syllables: 'p:zuan qian' -> '[zuan qian]'."""
        kind, _, body = self.feature.partition(":")
        body = body.replace("^", "").replace("$", "").strip()
        return f"[{body}]" if kind == "p" else body


@dataclass(frozen=True)
class TextModel:
    """Multiclass linear model over `features.features` (one row of weights per class)."""

    name: str
    classes: tuple[str, ...]
    vocab: dict[str, int]
    idf: np.ndarray  # (F,)
    coef: np.ndarray  # (C, F)
    intercept: np.ndarray  # (C,)
    cal_a: np.ndarray  # (C,) Platt sigmoid per class: p = 1 / (1 + exp(a * score + b))
    cal_b: np.ndarray  # (C,)

    @property
    def names(self) -> list[str]:
        """Feature strings by index (built once, on the first explanation)."""
        cached = self.__dict__.get("_names")
        if cached is None:
            cached = sorted(self.vocab, key=self.vocab.__getitem__)
            object.__setattr__(self, "_names", cached)
        return cached

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf of one text: (feature indices, values), sublinear tf, L2-normalised."""
        counts = Counter(f for f in features(text) if f in self.vocab)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter((self.vocab[f] for f in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64,
                         count=len(counts))
        val = tf * self.idf[idx]
        norm = float(np.sqrt(np.dot(val, val)))
        return idx, (val / norm if norm > 0 else val)

    def scores(self, text: str) -> np.ndarray:
        idx, val = self.vector(text)
        return self.coef[:, idx] @ val + self.intercept

    def proba(self, text: str) -> dict[str, float]:
        """Calibrated probability of each class (sums to 1)."""
        raw = 1.0 / (1.0 + np.exp(self.cal_a * self.scores(text) + self.cal_b))
        total = float(raw.sum())
        p = raw / total if total > 0 else np.full(len(self.classes), 1.0 / len(self.classes))
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def explain(self, text: str, cls: str, against: str | None = None, k: int = 5,
                min_units: int = 1) -> list[Contribution]:
        """The n-grams of ``text`` that pushed most toward ``cls`` (versus ``against`` if given).

        ``min_units`` 2 leaves out single characters: "说" may weigh, but tells an agent nothing.
        """
        idx, val = self.vector(text)
        if not len(idx):
            return []
        w = self.coef[self.classes.index(cls), idx]
        if against is not None:
            w = w - self.coef[self.classes.index(against), idx]
        push = w * val
        out = []
        for j in np.argsort(-push):
            if push[j] <= 0 or len(out) >= k:
                break
            c = Contribution(self.names[int(idx[j])], round(float(push[j]), 4))
            if c.units >= min_units:
                out.append(c)
        return out

    # ------------------------------------------------------------------ (de)serialisation
    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.classes": np.array(self.classes),
            f"{prefix}.vocab": np.array(self.names),
            f"{prefix}.idf": self.idf.astype(np.float32),
            f"{prefix}.coef": self.coef.astype(np.float32),
            f"{prefix}.intercept": self.intercept.astype(np.float64),
            f"{prefix}.cal_a": self.cal_a.astype(np.float64),
            f"{prefix}.cal_b": self.cal_b.astype(np.float64),
        }

    @classmethod
    def from_arrays(cls, prefix: str, data) -> TextModel:
        names = [str(v) for v in data[f"{prefix}.vocab"]]
        return cls(
            name=prefix,
            classes=tuple(str(c) for c in data[f"{prefix}.classes"]),
            vocab={f: i for i, f in enumerate(names)},
            idf=np.asarray(data[f"{prefix}.idf"], dtype=np.float64),
            coef=np.asarray(data[f"{prefix}.coef"], dtype=np.float64),
            intercept=np.asarray(data[f"{prefix}.intercept"], dtype=np.float64),
            cal_a=np.asarray(data[f"{prefix}.cal_a"], dtype=np.float64),
            cal_b=np.asarray(data[f"{prefix}.cal_b"], dtype=np.float64),
        )
