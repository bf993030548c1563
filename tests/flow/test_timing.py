"""Menu lengths against config/menus.yaml `limits`: the pure rules, and `ivr check` warnings."""

from __future__ import annotations

import shutil

import yaml
from click.testing import CliRunner

from ivr.flow.timing import time_menu, timing_warnings
from tests.flow.conftest import REPO, load_flow_config


def per_char(seconds: float):
    """A voice speaking ``seconds`` per character (the same in every dialect and mode)."""
    return lambda text, dialect, mode: len(text) * seconds


def test_first_menu_timing_counts_choices_and_the_human_option(cfg):
    t = time_menu(cfg, "main", "mandarin", "normal", per_char(0.1), first=True)
    greeting = cfg.menus.phrases.greeting["mandarin"]
    human = cfg.menus.phrases.human_first["mandarin"].format(key="0")
    assert t.human_option_by == round((len(greeting) + len(human)) * 0.1, 2)
    assert t.choices == 4  # two options, the elder line, Cantonese (Sichuanese is over budget)


def test_a_slow_voice_gets_warnings_a_quick_one_none(cfg):
    assert timing_warnings(cfg, per_char(0.1)) == []
    slow = timing_warnings(cfg, per_char(0.6))
    reasons = " ".join(w.reason for w in slow)
    assert "over the 15 s limit" in reasons and "human option ends at" in reasons
    assert all(w.file == "config/menus.yaml" and w.key.startswith("nodes.main") for w in slow)


def test_too_many_first_menu_choices_is_a_warning():
    cfg = load_flow_config()
    limits = cfg.menus.limits.model_copy(update={"first_menu_choices": 1})
    from dataclasses import replace

    cfg = replace(cfg, menus=cfg.menus.model_copy(update={"limits": limits}))
    assert any("first_menu_choices" in w.reason for w in timing_warnings(cfg, per_char(0.01)))


def test_check_command_warns_about_a_long_greeting_and_still_passes(tmp_path, monkeypatch):
    from ivr.cli import main

    for name in ("config", "grammars", "voices"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("cache"))
    menus = tmp_path / "config" / "menus.yaml"
    data = yaml.safe_load(menus.read_text(encoding="utf-8"))
    data["phrases"]["greeting"]["mandarin"] = "您好，欢迎致电长青银行客户服务热线，" * 4
    menus.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("IVR_ROOT", str(tmp_path))
    monkeypatch.setenv("IVR_VAR_DIR", str(tmp_path / "var"))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "nodes.main (mandarin, normal, first menu)" in \
        result.output
    assert "human option ends at" in result.output
