"""Config validation names file, key and reason; a bad reload keeps the last good config."""

from __future__ import annotations

import logging
import shutil

import pytest
import yaml
from click.testing import CliRunner

from ivr.config.errors import ConfigError
from ivr.config.holder import ConfigHolder
from ivr.config.loader import check, load_config
from tests.helpers import REPO, make_settings


@pytest.fixture
def settings(tmp_path):
    for name in ("config", "grammars", "voices"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("cache"))
    return make_settings(tmp_path, None, root=tmp_path, config_dir=tmp_path / "config",
                         grammars_dir=tmp_path / "grammars", voices_dir=tmp_path / "voices")


def edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def problems(settings):
    return [(p.file, p.key, p.reason) for p in check(settings)]


def test_the_shipped_config_is_valid(settings):
    assert problems(settings) == []
    assert load_config(settings).version


def test_unknown_key_is_named(settings):
    edit(settings.config_dir / "ivr.yaml", lambda d: d["timeouts"].update(gather_secs=5))
    [(file, key, reason)] = problems(settings)
    assert file == "config/ivr.yaml" and key == "timeouts.gather_secs"
    assert "not permitted" in reason


def test_bad_value_is_named_with_its_path(settings):
    edit(settings.config_dir / "elders.yaml",
         lambda d: d["profile"].update(gather_timeout_seconds=3))
    [(file, key, reason)] = problems(settings)
    assert (file, key) == ("config/elders.yaml", "profile.gather_timeout_seconds")
    assert "greater than or equal to 8" in reason


def test_menu_link_to_a_missing_node(settings):
    edit(settings.config_dir / "menus.yaml",
         lambda d: d["nodes"]["main"]["options"][0]["action"].update(node="nowhere"))
    [(file, key, reason)] = problems(settings)
    assert file == "config/menus.yaml" and "nowhere" in reason


def test_intent_missing_from_grammar(settings):
    edit(settings.config_dir / "menus.yaml",
         lambda d: d["nodes"]["account"]["options"][1].update(intent="teleport"))
    [(file, key, reason)] = problems(settings)
    assert (file, key) == ("config/menus.yaml", "nodes.account.options.1.intent")
    assert "teleport" in reason


def test_reserved_and_colliding_keys(settings):
    edit(settings.config_dir / "menus.yaml",
         lambda d: d["nodes"]["account"]["options"][0].update(key="0"))
    edit(settings.config_dir / "elders.yaml", lambda d: d.update(self_identify_key="8"))
    found = {(f, k) for f, k, _ in problems(settings)}
    assert ("config/menus.yaml", "nodes.account.options.0.key") in found
    assert ("config/elders.yaml", "self_identify_key") in found


def test_missing_file_and_broken_yaml(settings):
    (settings.config_dir / "elders.yaml").unlink()
    (settings.config_dir / "menus.yaml").write_text("root: main\nnodes: [unclosed\n")
    found = problems(settings)
    assert ("config/elders.yaml", "", "file not found") in found
    menus = [p for p in found if p[0] == "config/menus.yaml"]
    assert menus and menus[0][1].startswith("line ") and "invalid YAML" in menus[0][2]


def test_dialect_without_grammar(settings):
    (settings.grammars_dir / "sichuanese.yaml").unlink()
    [(file, key, reason)] = problems(settings)
    assert (file, key) == ("config/ivr.yaml", "dialects.known.sichuanese")


def test_missing_default_dialect_text(settings):
    edit(settings.config_dir / "menus.yaml",
         lambda d: d["phrases"]["transfer"].pop("mandarin"))
    [(file, key, reason)] = problems(settings)
    assert (file, key) == ("config/menus.yaml", "phrases.transfer")


def test_bad_files_of_other_areas_are_named_too(settings):
    (settings.config_dir / "scam.yaml").write_text("threshold: lots\n")
    (settings.voices_dir / "profiles.yaml").write_text("- a list\n")
    found = {f for f, _, _ in problems(settings)}
    assert {"config/scam.yaml", "voices/profiles.yaml"} <= found


def test_check_command_prints_file_key_reason_and_exits_1(settings, monkeypatch):
    from ivr.cli import main

    edit(settings.config_dir / "ivr.yaml", lambda d: d["keys"].update(human="A"))
    monkeypatch.setenv("IVR_ROOT", str(settings.root))
    monkeypatch.setenv("IVR_VAR_DIR", str(settings.var_dir))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "config/ivr.yaml" in result.output and "keys.human" in result.output


def test_reload_with_a_broken_file_keeps_the_last_good_config(settings, caplog):
    holder = ConfigHolder(settings)
    good = holder.current
    edit(settings.config_dir / "menus.yaml", lambda d: d.update(root="missing"))
    with caplog.at_level(logging.ERROR):
        assert holder.reload() is False
    assert holder.current is good
    assert "config/menus.yaml" in caplog.text
    edit(settings.config_dir / "menus.yaml", lambda d: d.update(root="main"))
    edit(settings.config_dir / "ivr.yaml", lambda d: d.update(hotline_name="新名字"))
    assert holder.reload() is True
    assert holder.current.service.hotline_name == "新名字"


def test_restart_with_a_broken_file_uses_the_last_good_snapshot(settings):
    ConfigHolder(settings)  # writes the snapshot
    edit(settings.config_dir / "menus.yaml", lambda d: d.update(root="missing"))
    with pytest.raises(ConfigError):
        ConfigHolder(settings)
    kept = ConfigHolder(settings, allow_last_good=True)
    assert kept.current.menus.root == "main"
