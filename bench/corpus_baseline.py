"""What the lexicon alone catches on the understanding corpus (the baseline a model must beat).

Run: python bench/corpus_baseline.py [--split test]
Prints scam recall per category / style / dialect and false-positive rate per legit topic for the
current config/scam.yaml on one split of ivr/understanding/data. The blind files are not read:
they are kept for the final report only.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ivr.understanding.scam import ScamDetector  # noqa: E402
from ivr.understanding.scam_config import load_lexicon  # noqa: E402

DATA = REPO / "ivr" / "understanding" / "data"


def rows(name: str, split: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [r for r in reader if split == "all" or r["split"] == split]


def table(title: str, groups: dict[str, list[bool]]) -> None:
    print(f"\n{title}")
    for key in sorted(groups):
        hits = groups[key]
        print(f"  {key:<22} {sum(hits) / len(hits):6.3f}  (n={len(hits)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=["train", "dev", "test", "all"])
    args = ap.parse_args()
    det = ScamDetector(load_lexicon(REPO / "config" / "scam.yaml"))
    scam, legit = rows("scam.tsv", args.split), rows("legit.tsv", args.split)
    by = {k: defaultdict(list) for k in ("label", "style", "dialect", "keyword")}
    for r in scam:
        flagged = det.check(r["text"]).is_risk
        for k in by:
            by[k][r[k]].append(flagged)
    fp = defaultdict(list)
    for r in legit:
        fp[r["topic"]].append(det.check(r["text"]).is_risk)
    tp = sum(sum(v) for v in by["label"].values())
    fps = sum(sum(v) for v in fp.values())
    print(f"split={args.split}  scam rows={len(scam)}  legit rows={len(legit)}")
    print(f"recall={tp / max(len(scam), 1):.3f}  fp rate={fps / max(len(legit), 1):.3f}  "
          f"precision={tp / max(tp + fps, 1):.3f}")
    table("recall per category", by["label"])
    table("recall per style", by["style"])
    table("recall per dialect", by["dialect"])
    table("recall by strong-keyword presence", by["keyword"])
    table("false-positive rate per legit topic", fp)


if __name__ == "__main__":
    main()
