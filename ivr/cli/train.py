"""`ivr train`: fit the intent and scam models from understanding/data/ and write the artifact.

Prints what a deployment needs to pick its threshold: precision/recall on the dev split at several
thresholds, then at the configured threshold on the test split (never used for choices).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import click

from ivr.settings import Settings
from ivr.understanding import training as tr
from ivr.understanding.decision import CallScamJudge, IntentDecider
from ivr.understanding.grammar_config import Grammar, load_grammars
from ivr.understanding.intents import IntentMatcher
from ivr.understanding.scam import ScamDetector
from ivr.understanding.scam_config import ScamLexicon, load_lexicon
from ivr.understanding.textmodel import TextModel

C_GRID = (2.0, 8.0, 32.0)
# Scam rows of one page share wording, so dev often scores every C the same; the first (the most
# regularised) then wins: it is the least over-confident on wordings the corpus does not have.
SCAM_C_GRID = (0.3, 2.0, 8.0)


def grammar_for(grammars: dict[str, Grammar], dialect: str) -> Grammar:
    """Dialects without a grammar file of their own (wu, northeastern) use Mandarin's."""
    return grammars.get(dialect) or grammars["mandarin"]


def intent_accuracy(model: TextModel | None, grammars: dict[str, Grammar],
                    rows: Sequence[tr.Row]) -> float:
    deciders = {d: IntentDecider(IntentMatcher(g), model) for d, g in grammars.items()}
    ok = 0
    for r in rows:
        got = (deciders.get(r.dialect) or deciders["mandarin"]).decide(r.text).intent
        ok += got == (None if r.label == tr.NONE else r.label)
    return ok / len(rows) if rows else 0.0


def scam_counts(model: TextModel | None, lexicon: ScamLexicon, scam: Sequence[tr.Row],
                legit: Sequence[tr.Row], threshold: float | None = None) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives), each row judged as a final utterance."""
    settings = lexicon.model if threshold is None else lexicon.model.model_copy(
        update={"threshold": threshold})
    detector = ScamDetector(lexicon)

    def fires(text: str) -> bool:
        return CallScamJudge(detector, model, settings).feed(text).is_risk

    tp = sum(fires(r.text) for r in scam)
    fp = sum(fires(r.text) for r in legit)
    return tp, len(scam) - tp, fp


def pr(tp: int, fn: int, fp: int) -> str:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return f"precision={p:.3f} recall={r:.3f} (TP={tp} FN={fn} FP={fp})"


def _split(rows: Sequence[tr.Row], *names: str) -> list[tr.Row]:
    return [r for r in rows if r.split in names]


def train_intents(rows: list[tr.Row], grammars: dict[str, Grammar], seed: int,
                  echo) -> tuple[TextModel, float]:
    train, dev = _split(rows, "train"), _split(rows, *tr.DEV_SPLITS)
    best = None
    for c in C_GRID:
        fitted = tr.fit("intent", tr.augment(train, random.Random(seed)), seed=seed, c=c)
        acc = intent_accuracy(fitted.model, grammars, dev)
        echo(f"  intent C={c:<5} dev accuracy={acc:.3f}")
        if best is None or acc > best[0]:
            best = (acc, c, fitted)
    assert best is not None
    gap = tr.check_export(best[2], [r.text for r in dev[:200]])
    echo(f"  chosen C={best[1]} (export matches scikit-learn within {gap:.1e})")
    return best[2].model, best[1]


def train_scam(scam: list[tr.Row], legit: list[tr.Row], lexicon: ScamLexicon, seed: int,
               echo) -> tuple[TextModel, float]:
    rng = random.Random(seed)
    s_train, l_train = _split(scam, "train"), _split(legit, "train")
    s_dev, l_dev = _split(scam, *tr.DEV_SPLITS), _split(legit, *tr.DEV_SPLITS)
    legit_rows = [tr.Row(r.id, r.text, tr.LEGIT, r.dialect, r.style, r.noise, r.split, r.source)
                  for r in l_train]
    pairs = tr.augment([*s_train, *legit_rows], rng)
    pairs += tr.call_windows(s_train, legit_rows, rng, n=len(s_train))
    best = None
    for c in SCAM_C_GRID:
        fitted = tr.fit("scam", pairs, seed=seed, c=c)
        tp, fn, fp = scam_counts(fitted.model, lexicon, s_dev, l_dev)
        f1 = 2 * tp / (2 * tp + fn + fp) if tp else 0.0
        echo(f"  scam C={c:<5} dev at threshold {lexicon.model.threshold}: {pr(tp, fn, fp)}")
        if best is None or f1 > best[0]:
            best = (f1, c, fitted)
    assert best is not None
    gap = tr.check_export(best[2], [r.text for r in (s_dev + l_dev)[:200]])
    echo(f"  chosen C={best[1]} (export matches scikit-learn within {gap:.1e})")
    return best[2].model, best[1]


@click.command("train")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=tr.DATA_DIR, show_default=True, help="Folder with intents/scam/legit TSVs.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=tr.ARTIFACT,
              show_default=True, help="Artifact to write.")
@click.option("--seed", type=int, default=tr.SEED, show_default=True)
def train(data_dir: Path, out: Path, seed: int) -> None:
    """Train the intent and scam models (fixed seed) and print test precision/recall."""
    import sklearn

    settings = Settings.from_env()
    grammars = load_grammars(settings.grammars_dir)
    lexicon = load_lexicon(settings.config_dir / "scam.yaml")
    files = [data_dir / n for n in ("intents.tsv", "scam.tsv", "legit.tsv")]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise click.ClickException(f"missing corpus files: {missing}")
    started = time.perf_counter()
    intents = tr.read_rows(files[0])
    scam, legit = tr.read_rows(files[1]), tr.read_rows(files[2])
    click.echo(f"data: {len(intents)} intent rows, {len(scam)} scam rows, {len(legit)} legit rows")
    intent_model, c_intent = train_intents(intents, grammars, seed, click.echo)
    scam_model, c_scam = train_scam(scam, legit, lexicon, seed, click.echo)

    s_dev, l_dev = _split(scam, *tr.DEV_SPLITS), _split(legit, *tr.DEV_SPLITS)
    click.echo("scam threshold choices on the dev split (model + lexicon):")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        click.echo(f"  threshold {t:.1f}: {pr(*scam_counts(scam_model, lexicon, s_dev, l_dev, t))}")
    s_test, l_test = _split(scam, "test"), _split(legit, "test")
    t = lexicon.model.threshold
    click.echo(f"TEST split at the configured threshold {t} (config/scam.yaml model.threshold):")
    click.echo(f"  scam model + lexicon: {pr(*scam_counts(scam_model, lexicon, s_test, l_test))}")
    click.echo(f"  lexicon alone:        {pr(*scam_counts(None, lexicon, s_test, l_test))}")
    i_test = _split(intents, "test")
    click.echo(f"  intents: grammar + model accuracy="
               f"{intent_accuracy(intent_model, grammars, i_test):.3f}, grammar alone="
               f"{intent_accuracy(None, grammars, i_test):.3f} ({len(i_test)} rows)")

    probes = [r.text for r in (i_test[:10] + s_test[:5] + l_test[:5])]
    meta = {
        "seed": seed, "sklearn": sklearn.__version__, "data_sha256": tr.checksum(files),
        "c": {"intent": c_intent, "scam": c_scam},
        "probes": {"intent": {t: intent_model.proba(t) for t in probes},
                   "scam": {t: scam_model.proba(t) for t in probes}},
    }
    tr.save(out, [intent_model, scam_model], meta)
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in "
               f"{time.perf_counter() - started:.0f} s")
