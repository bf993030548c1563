"""The understanding path measured on the independent held-out set (issue 13).

Run:  python bench/independent_eval.py [--model PATH|none] [--examples N]

What it runs is what `ivr understand` and `ivr scam-check` run on main: `IntentDecider` (the
dialect's grammar, Mandarin's for dialects without a file, plus the trained intent model) with no
menu restriction, and `CallScamJudge` (lexicon + trained scam model) at the threshold deployed in
config/scam.yaml, each utterance judged alone as a final transcript. Multi-sentence stories are
also fed sentence by sentence to one judge, as a live call would hear them (`scam-check --call`).

The model is the artifact the service would load (IVR_MODEL_PATH or the default path); `--model
none` measures grammar + lexicon alone, `--model PATH` another artifact (e.g. one written by
`ivr train --out PATH`). Nothing here trains, tunes or changes anything: the set is measurement
data only (ivr/understanding/data/eval_independent/README.md). Latency figures are per utterance
on a shared, contended machine: noisy.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ivr.settings import Settings  # noqa: E402
from ivr.understanding import artifact  # noqa: E402
from ivr.understanding.decision import CallScamJudge, IntentDecider  # noqa: E402
from ivr.understanding.grammar_config import load_grammars  # noqa: E402
from ivr.understanding.intents import IntentMatcher  # noqa: E402
from ivr.understanding.scam import ScamDetector  # noqa: E402
from ivr.understanding.scam_config import load_lexicon  # noqa: E402

SET = REPO / "ivr" / "understanding" / "data" / "eval_independent"
CORPUS = REPO / "ivr" / "understanding" / "data"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def corpus_texts() -> set[str]:
    """Every text of the training corpus, to count verbatim overlaps (there should be none)."""
    out: set[str] = set()
    for path in CORPUS.glob("*.tsv"):
        out |= {r.get("text", "") for r in read(path)}
    return out


def corpus_urls() -> set[str]:
    path = CORPUS / "sources.tsv"
    return {r["url"] for r in read(path)} if path.exists() else set()


def rate(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):6.3f}  ({sum(hits)}/{len(hits)})" if hits else "   n/a"


def table(title: str, groups: dict[str, list[bool]]) -> None:
    print(f"  {title}")
    for key in sorted(groups):
        print(f"    {key:<22} {rate(groups[key])}")


def timed(fn: Callable[[str], object], text: str, lat: list[float]) -> object:
    t0 = time.perf_counter()
    out = fn(text)
    lat.append(time.perf_counter() - t0)
    return out


def pct(values: Iterable[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else 0.0


def eval_intents(model, settings: Settings, examples: int) -> None:
    grammars = load_grammars(settings.grammars_dir)
    deciders = {d: IntentDecider(IntentMatcher(g), model) for d, g in grammars.items()}
    rows = read(SET / "intents.tsv")
    by = {k: defaultdict(list) for k in ("intent", "dialect", "style")}
    confusions: Counter[tuple[str, str]] = Counter()
    lat: list[float] = []
    misses = []
    for r in rows:
        decider = deciders.get(r["dialect"]) or deciders["mandarin"]
        got = timed(decider.decide, r["text"], lat).intent or "none"  # type: ignore[attr-defined]
        ok = got == r["intent"]
        for k in by:
            by[k][r[k]].append(ok)
        if not ok:
            confusions[(r["intent"], got)] += 1
            misses.append((r, got))
    total = [ok for v in by["intent"].values() for ok in v]
    wrong = len(total) - sum(total)
    to_none = sum(n for (gold, got), n in confusions.items() if got == "none")
    print(f"\nINTENTS ({len(rows)} rows, no menu restriction, as `ivr understand`)")
    print(f"  accuracy overall       {rate(total)}")
    print(f"  errors that are 'none' {to_none}/{wrong}")
    table("accuracy per intent", by["intent"])
    table("accuracy per dialect", by["dialect"])
    table("accuracy per style", by["style"])
    print("  most frequent confusions (gold -> got)")
    for (gold, got), n in confusions.most_common(8):
        print(f"    {gold} -> {got}: {n}")
    print(f"  latency per utterance: p50 {pct(lat, .5):.2f} ms, p99 {pct(lat, .99):.2f} ms")
    for r, got in misses[:examples]:
        print(f"    miss [{r['intent']}->{got}] {r['dialect']}/{r['style']}: {r['text']}")


def eval_scam(model, settings: Settings, examples: int) -> None:
    lexicon = load_lexicon(settings.config_dir / "scam.yaml")
    detector = ScamDetector(lexicon)

    def judge(text: str):
        return CallScamJudge(detector, model).feed(text, final=True)

    scam, legit = read(SET / "scam.tsv"), read(SET / "legit.tsv")
    seen_urls = corpus_urls()
    lat: list[float] = []
    by = {k: defaultdict(list) for k in ("label", "style", "dialect", "page")}
    misses, alarms = [], []
    for r in scam:
        d = timed(judge, r["text"], lat)
        hit = d.is_risk  # type: ignore[attr-defined]
        r = {**r, "page": "page also in sources.tsv" if r["source"] in seen_urls
             else "page not in sources.tsv"}
        for k in by:
            by[k][r[k]].append(hit)
        if not hit:
            misses.append((r, d))
    fp = defaultdict(list)
    fp_style = defaultdict(list)
    for r in legit:
        d = timed(judge, r["text"], lat)
        hit = d.is_risk  # type: ignore[attr-defined]
        fp[r["topic"]].append(hit)
        fp_style[r["style"]].append(hit)
        if hit:
            alarms.append((r, d))
    tp = sum(sum(v) for v in by["label"].values())
    fps = sum(sum(v) for v in fp.values())
    n_legit = sum(len(v) for v in fp.values())
    print(f"\nSCAM ({len(scam)} stories, {len(legit)} legit; threshold {lexicon.model.threshold} "
          f"from config/scam.yaml, each utterance alone, final, as `ivr scam-check`)")
    print(f"  recall {tp / len(scam):.3f}  precision {tp / max(tp + fps, 1):.3f}  "
          f"false-positive rate {fps / max(n_legit, 1):.3f}  (TP={tp} FN={len(scam) - tp} "
          f"FP={fps})")
    table("recall per category", by["label"])
    table("recall per style", by["style"])
    table("recall per dialect", by["dialect"])
    table("recall by source page", by["page"])
    table("false-positive rate per legit topic", fp)
    table("false-positive rate per legit style", fp_style)

    multi = [r for r in scam if r["style"] == "multi_sentence"]
    call_hits = []
    for r in multi:
        j = CallScamJudge(detector, model)
        parts = [p for p in r["text"].split("。") if p.strip()]
        call_hits.append(any(j.feed(p, final=True).is_risk for p in parts))
    print(f"  multi-sentence stories fed sentence by sentence as one call: {rate(call_hits)}")
    long_path = SET / "legit_long.tsv"
    if long_path.exists():  # written later, to take away the length cue (see README)
        long_fp = defaultdict(list)
        for r in read(long_path):
            d = judge(r["text"])
            long_fp[r["topic"]].append(d.is_risk)
            if d.is_risk:
                alarms.append((r, d))
        n_long = sum(len(v) for v in long_fp.values())
        fp_long = sum(sum(v) for v in long_fp.values())
        print(f"  length-matched legit (legit_long.tsv, {n_long} rows): false-positive rate "
              f"{fp_long / max(n_long, 1):.3f} ({fp_long}); precision with them added "
              f"{tp / max(tp + fps + fp_long, 1):.3f}")
        table("false-positive rate per length-matched legit topic", long_fp)
    print(f"  latency per utterance: p50 {pct(lat, .5):.2f} ms, p99 {pct(lat, .99):.2f} ms")
    for r, d in misses[:examples]:
        print(f"    miss [{r['label']}] {r['style']}/{r['dialect']} p={d.probability:.2f} "
              f"lex={d.lexicon.score:.2f}: {r['text']}")
    short = [a for a in alarms if not a[0]["id"].startswith("ilong-")]
    longs = [a for a in alarms if a[0]["id"].startswith("ilong-")]
    for r, d in short[:examples] + longs[:examples]:
        print(f"    false alarm [{r['topic']}] {d.reason} {d.category} p={d.probability:.2f} "
              f"{d.matched[:4]}: {r['text']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None,
                    help="artifact path, or 'none' for grammar + lexicon only "
                         "(default: what the service loads)")
    ap.add_argument("--examples", type=int, default=6, help="misses / false alarms to print")
    args = ap.parse_args()
    settings = Settings.from_env()
    if args.model == "none":
        art, where = artifact.Artifact(None, None, {}), "none (grammar + lexicon only)"
    else:
        path = args.model or str(artifact.artifact_path())
        art, where = artifact.load(path), path
        if art.intent is None and art.scam is None:
            where += "  [NOT LOADED: grammar + lexicon only]"
    print(f"model: {where}")
    if art.meta:
        print(f"  trained_at={art.meta.get('trained_at')} data_sha256="
              f"{str(art.meta.get('data_sha256'))[:16]}")
    texts = corpus_texts()
    overlap = sum(r["text"] in texts for n in ("scam.tsv", "legit.tsv", "legit_long.tsv",
                                               "intents.tsv") for r in read(SET / n))
    print(f"held-out rows found verbatim in the training corpus: {overlap}")
    eval_intents(art.intent, settings, args.examples)
    eval_scam(art.scam, settings, args.examples)


if __name__ == "__main__":
    main()
