"""`ivr train` on a small corpus: reproducible, checksummed, and what it saves scores as it did."""

import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.understanding import artifact
from ivr.understanding import training as tr
from tests.conftest import REPO

pytest.importorskip("sklearn")

HEADER = "id\ttext\tlabel\tstyle\tdialect\tkeyword\tnoise\tsource\tgroup\tsplit\n"
SCAM = ["对方说是公安局的，要我把存款转过去核查", "有个警官说我卷进案子，让我别告诉家里人",
        "自称检察院的人叫我把钱挪到他给的账户", "电话里的警察说我的卡在洗钱，要我配合转账",
        "说我名下的卡犯了事，要我先把钱打过去", "一个说是派出所的让我天天报告行踪还要转钱"]
LEGIT = ["我想查一下我自己的定期存款", "我的验证码一直收不到怎么办", "我要给我女儿转一笔钱",
         "派出所已经给我立案了，我来问问冻结", "手机银行登录不上去了", "我想问一下理财产品的利率"]


def corpus(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    rows = tr.read_rows(tr.DATA_DIR / "intents.tsv")
    keep = [r for r in rows if r.label in ("balance", "repeat", "none", "lost_card")]
    rng = random.Random(0)
    rng.shuffle(keep)
    lines = ["id\ttext\tintent\tdialect\tsource\tnoise\tsplit"]
    lines += [f"{r.id}\t{r.text}\t{r.label}\t{r.dialect}\t{r.source}\t{r.noise}\t{r.split}"
              for r in keep[:240]]
    (d / "intents.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def rows_of(texts, labels):
        out = HEADER
        for i, (t, lab) in enumerate(zip(texts * 3, labels * 3, strict=True)):
            split = ("train", "train", "dev", "test")[i % 4]
            text = t + "。" * (i // len(texts))
            out += f"x{i}\t{text}\t{lab}\tplain\tmandarin\tno\tnone\tc\tg{i}\t{split}\n"
        return out

    cats = ["police_impersonation"] * 3 + ["relatives"] * 3
    (d / "scam.tsv").write_text(rows_of(SCAM, cats), encoding="utf-8")
    (d / "legit.tsv").write_text(rows_of(LEGIT, ["own"] * 6).replace("\tlabel\t", "\ttopic\t"),
                                 encoding="utf-8")
    return d


def test_fit_is_reproducible_and_export_matches_sklearn():
    pairs = [(t, "scam") for t in SCAM] * 2 + [(t, "legit") for t in LEGIT] * 2 + \
        [("今天天气很好", "other"), ("明天去公园", "other"), ("晚上吃饺子", "other")] * 2
    a = tr.fit("m", pairs, seed=1, min_df=1)
    b = tr.fit("m", list(reversed(pairs)), seed=1, min_df=1)
    assert a.model.vocab == b.model.vocab
    assert np.array_equal(a.model.coef, b.model.coef)
    assert tr.check_export(a, SCAM + LEGIT) < 1e-3


def test_train_command_writes_a_checksummed_artifact_that_scores_as_at_training(tmp_path):
    data = corpus(tmp_path)
    out = tmp_path / "model.npz"
    env = {"IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "TEST split at the configured threshold" in result.output
    assert "precision=" in result.output and "recall=" in result.output
    art = artifact.read(out)
    assert art.meta["seed"] == tr.SEED
    assert art.meta["data_sha256"] == tr.checksum([data / "intents.tsv", data / "scam.tsv",
                                                   data / "legit.tsv"])
    assert set(art.scam.classes) == {"legit", "police_impersonation", "relatives"}
    for text, expected in art.meta["probes"]["scam"].items():
        assert art.scam.proba(text) == pytest.approx(expected, abs=1e-9)
    again = tmp_path / "again.npz"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(again)], env=env)
    assert result.exit_code == 0
    second = artifact.read(again)
    assert np.array_equal(second.intent.coef, art.intent.coef)
    assert json.dumps(second.meta["probes"]) == json.dumps(art.meta["probes"])


def test_missing_corpus_is_a_clear_error(tmp_path):
    env = {"IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, ["train", "--data", str(tmp_path), "--out",
                                       str(tmp_path / "m.npz")], env=env)
    assert result.exit_code != 0 and "missing corpus files" in result.output


def test_missing_artifact_leaves_grammar_and_lexicon(tmp_path):
    art = artifact.load(str(tmp_path / "nothing.npz"))
    assert art.intent is None and art.scam is None
