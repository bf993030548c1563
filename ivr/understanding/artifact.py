"""The trained understanding models, loaded once per process (numpy only, no pickle).

Why fail-soft: a missing or unreadable artifact must not stop calls; the grammar matcher and the
lexicon keep working alone and the problem is logged once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ivr.understanding.textmodel import TextModel

log = logging.getLogger(__name__)
DEFAULT_PATH = Path(__file__).resolve().parent / "models" / "understanding.npz"


@dataclass(frozen=True)
class Artifact:
    intent: TextModel | None
    scam: TextModel | None
    meta: dict = field(default_factory=dict)


def read(path: str | Path) -> Artifact:
    """Read an artifact file (raises on a broken file)."""
    with np.load(Path(path), allow_pickle=False) as data:
        keys = set(data.files)
        meta = json.loads(str(data["meta"])) if "meta" in keys else {}
        intent = TextModel.from_arrays("intent", data) if "intent.coef" in keys else None
        scam = TextModel.from_arrays("scam", data) if "scam.coef" in keys else None
    return Artifact(intent, scam, meta)


def artifact_path() -> Path:
    return Path(os.environ.get("IVR_MODEL_PATH") or DEFAULT_PATH)


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Artifact:
    """The process-wide artifact (cached); an empty one when the file is missing or broken."""
    p = Path(path) if path else artifact_path()
    try:
        art = read(p)
    except FileNotFoundError:
        log.warning("no understanding model at %s: grammar and lexicon only (run `ivr train`)", p)
        return Artifact(None, None, {})
    except Exception:
        log.exception("understanding model %s unreadable: grammar and lexicon only", p)
        return Artifact(None, None, {})
    log.info("understanding model loaded from %s (trained %s)", p, art.meta.get("trained_at"))
    return art
