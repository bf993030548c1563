"""Compose intents.tsv from the core files: frames of each dialect around each core, plus noise.

Run: python ivr/understanding/data/compose_intents.py   (deterministic: fixed seed)
Why frames: a caller rarely says the bare phrase; "喂，那个，我想查下余额嘛" means the same.
Why split by core: every variant of one paraphrase shares its wording, so they all go to one split,
and the test split measures paraphrases the model never saw, not new fillers around seen ones.
Core files: intent_cores.yaml (the first cores), then intent_paraphrases.yaml (indirect and
regional paraphrases for the intents callers were least understood on, and hard negatives).
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from ivr.understanding.noise import corrupt  # noqa: E402

SEED = 13
CORE_FILES = (HERE / "intent_cores.yaml", HERE / "intent_paraphrases.yaml")
PER_INTENT = 125  # clean rows per intent before noise copies (at least MIN_PER_CORE a core)
# Three framings of every core (bare, and two with fillers) rather than two: with many cores an
# intent got two each, too few for the model to tell the core from its frame (chosen on `valid`).
MIN_PER_CORE = 3
NOISE_SHARE = 0.4
KIND = {"repeat": "feedback", "slower": "feedback", "yes": "answer", "no": "answer",
        "none": "none"}
FRAMES: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "request": {
        "mandarin": (["", "我想", "我要", "帮我", "麻烦", "请", "你好，我想", "喂，我要", "那个，",
                      "我想要", "能不能帮我", "同志，我想", "嗯，我要"],
                     ["", "吧", "啊", "一下", "，谢谢", "，麻烦了", "呀", "可以吗"]),
        "sichuanese": (["", "我想", "帮我", "麻烦你", "喂，", "那个，我想", "我要"],
                       ["", "嘛", "哈", "噻", "哦", "，要得不"]),
        "cantonese": (["", "我想", "唔该", "唔该你", "喂，", "我要", "可唔可以"],
                      ["", "啊", "呀", "唔该", "啦", "得唔得"]),
        "wu": (["", "阿拉想", "我想", "侬帮我", "喂，", "麻烦侬"], ["", "好伐", "呀", "哦", "呢"]),
        "northeastern": (["", "我想", "给我", "帮我", "哎，", "那啥，", "俺想"],
                         ["", "呗", "啊", "，行不", "哈"]),
    },
    "statement": {
        "mandarin": (["", "喂，", "你好，", "那个，", "哎呀，", "同志，", "是这样，"],
                     ["", "啊", "呀", "哦"]),
        "sichuanese": (["", "喂，", "哎，", "那个，"], ["", "哦", "嘛", "哈"]),
        "cantonese": (["", "喂，", "唔好意思，", "哎呀，"], ["", "啊", "喎", "呀"]),
        "wu": (["", "喂，", "哎，", "侬好，"], ["", "呀", "哦"]),
        "northeastern": (["", "哎，", "那啥，", "喂，"], ["", "啊", "呢", "呗"]),
    },
    "feedback": {
        "mandarin": (["", "请", "麻烦", "麻烦你", "你", "能不能", "喂，", "对不起，", "不好意思，"],
                     ["", "吧", "好吗", "，谢谢", "啊", "呀"]),
        "sichuanese": (["", "你", "麻烦你", "喂，"], ["", "嘛", "哈", "噻"]),
        "cantonese": (["", "唔该", "你", "唔好意思，"], ["", "啦", "呀", "唔该"]),
        "wu": (["", "侬", "麻烦侬", "对勿起，"], ["", "好伐", "呀"]),
        "northeastern": (["", "你", "哎，", "那啥，"], ["", "呗", "啊", "哈"]),
    },
    "answer": {d: (["", "嗯，", "哦，", "啊，"], ["", "啊", "呀"])
               for d in ("mandarin", "sichuanese", "cantonese", "wu", "northeastern")},
    "none": {d: (["", "喂，", "那个，"], ["", "啊", "呀"])
             for d in ("mandarin", "sichuanese", "cantonese", "wu", "northeastern")},
}


def split_of(intent: str, core: str) -> str:
    bucket = int(hashlib.sha256(f"{intent}|{core}".encode()).hexdigest(), 16) % 100
    return "train" if bucket < 70 else "valid" if bucket < 85 else "test"


def variants(core: str, kind: str, dialect: str, n: int, rng: random.Random) -> list[str]:
    statement = core.startswith("!")
    text = core.lstrip("!")
    frames = FRAMES["statement" if statement and kind == "request" else kind][dialect]
    combos = [(p, s) for p in frames[0] for s in frames[1]]
    rng.shuffle(combos)
    combos.sort(key=lambda c: c != ("", ""))  # the bare core first
    out = []
    for p, s in combos[:n]:
        doubled = kind == "answer" and rng.random() < 0.15  # "对对", "好的好的"
        text_v = text + text if doubled else text
        out.append(p + text_v + s)
    return list(dict.fromkeys(out))


def load_cores(files: tuple[Path, ...] = CORE_FILES) -> dict[str, dict[str, list[str]]]:
    """Merge the core files: {intent: {dialect: [cores]}}; a core twice is dropped, a core under
    two intents is an error (the model would be taught both answers for one sentence)."""
    merged: dict[str, dict[str, list[str]]] = {}
    owner: dict[str, str] = {}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for intent, by_dialect in data.items():
            intent = {True: "yes", False: "no"}.get(intent, intent)
            for dialect, cores in by_dialect.items():
                for core in cores:
                    key = core.lstrip("!")
                    if owner.setdefault(key, intent) != intent:
                        raise ValueError(f"{core!r} is under {owner[key]} and {intent}")
                    bucket = merged.setdefault(intent, {}).setdefault(dialect, [])
                    if core not in bucket:
                        bucket.append(core)
    return merged


def compose() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    cores = load_cores()
    rows: list[dict[str, str]] = []
    seen: set[str] = set()  # one sentence, one row: never two intents or two splits
    for intent, by_dialect in cores.items():
        kind = KIND.get(intent, "request")
        # "mandarin_collisions": Mandarin hard negatives (a grammar phrase inside another word)
        pairs = [(d.removesuffix("_collisions"), c) for d, cs in by_dialect.items() for c in cs]
        per_core = max(MIN_PER_CORE, -(-PER_INTENT // len(pairs)))
        for gi, (dialect, core) in enumerate(pairs):
            split = split_of(intent, core)
            for text in variants(core, kind, dialect, per_core, rng):
                base = {"intent": intent, "dialect": dialect, "split": split,
                        "source": f"composed:{intent}/{gi}"}
                if text not in seen:
                    rows.append({"text": text, "noise": "none", **base})
                    seen.add(text)
                if rng.random() < NOISE_SHARE:
                    noisy = corrupt(text, rng, rate=rng.choice((0.15, 0.25)))
                    if noisy.edits and noisy.text not in seen:
                        rows.append({"text": noisy.text, "noise": noisy.label, **base})
                        seen.add(noisy.text)
    return rows


def main() -> None:
    rows = compose()
    out = HERE / "intents.tsv"
    with out.open("w", encoding="utf-8") as fh:
        fh.write("# Composed by compose_intents.py from intent_cores.yaml and "
                 "intent_paraphrases.yaml (seed 13); "
                 "noise column: edits made by ivr.understanding.noise\n")
        fh.write("id\ttext\tintent\tdialect\tsource\tnoise\tsplit\n")
        for i, r in enumerate(rows):
            fh.write(f"in{i:05d}\t{r['text']}\t{r['intent']}\t{r['dialect']}\t{r['source']}\t"
                     f"{r['noise']}\t{r['split']}\n")
    print(f"{len(rows)} rows -> {out}")


if __name__ == "__main__":
    main()
