import json

from click.testing import CliRunner

from ivr.cli import main
from tests.conftest import REPO


def _run(args, text, tmp_path):
    env = {"IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, args, input=text, env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_understand_prints_one_json_line_per_transcript(tmp_path):
    rows = _run(["understand", "--dialect", "sichuanese"], "我要转人工\n\n你说啥子\n今天天气好\n",
                tmp_path)
    assert [r["intent"] for r in rows] == ["human_agent", "repeat", None]
    assert rows[0] == {"text": "我要转人工", "intent": "human_agent", "score": 1.0,
                       "phrase": "转人工", "source": "grammar", "why": ["转人工"]}


def test_understand_unknown_dialect_is_an_error(tmp_path):
    env = {"IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, ["understand", "--dialect", "klingon"], input="x\n", env=env)
    assert result.exit_code != 0 and "klingon" in result.output


def test_scam_check_prints_risk_and_category(tmp_path):
    rows = _run(["scam-check"], "警察让我把钱转到安全站户\n我想退保\n", tmp_path)
    assert rows[0]["is_risk"] is True and rows[0]["category"] == "police_impersonation"
    assert "安全账户" in rows[0]["matched"]
    assert rows[1]["is_risk"] is False and rows[1]["category"] is None
    assert rows[1]["matched"] == [] and rows[1]["lexicon_score"] == 0.0
