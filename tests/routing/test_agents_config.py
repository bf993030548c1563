"""config/agents.yaml validation and the `ivr agents` commands."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError
from werkzeug.security import check_password_hash

from ivr.cli.agents import agents as agents_cli
from ivr.routing.agents import agent_for_token, verify_password
from ivr.routing.agents_config import AgentsConfig

from .conftest import DEMO_PASSWORDS, REPO, demo_agents


def test_shipped_agents_file_is_valid_and_demo_passwords_match():
    cfg = demo_agents()
    assert {a.id for a in cfg.agents} == {"wang", "chan", "li"}
    assert "cantonese" in cfg.agent("chan").skills and "sichuanese" in cfg.agent("li").skills
    assert cfg.agent("li").endpoint_kind == "number"
    assert cfg.agent("wang").endpoint_target == "agent_wang"
    for agent_id, password in DEMO_PASSWORDS.items():
        assert verify_password(cfg, agent_id, password).id == agent_id
    assert verify_password(cfg, "wang", "nope") is None
    assert verify_password(cfg, "ghost", "nope") is None


@pytest.mark.parametrize("path, value, where", [
    (("agents", 0, "skils"), ["mandarin"], "agents.0.skils"),
    (("agents", 0, "endpoint"), "13800000000", "agents.0.endpoint"),
    (("agents", 0, "password_hash"), "plaintext", "agents.0.password_hash"),
    (("queue", "aging_seconds_per_step"), 0, "queue.aging_seconds_per_step"),
])
def test_problems_name_their_key(path, value, where):
    raw = yaml.safe_load((REPO / "config" / "agents.yaml").read_text(encoding="utf-8"))
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as err:
        AgentsConfig.model_validate(raw)
    assert where in {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


def test_set_password_and_new_token_write_the_file(tmp_path):
    file = tmp_path / "agents.yaml"
    file.write_text((REPO / "config" / "agents.yaml").read_text(encoding="utf-8"))
    run = CliRunner().invoke(agents_cli, ["set-password", "chan", "--password", "n3w-pass-word",
                                          "--write", "--file", str(file)])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(agents_cli, ["new-token", "li", "--write", "--file", str(file)])
    token = run.output.rsplit(": ", 1)[1].strip()
    cfg = AgentsConfig.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")))
    assert check_password_hash(cfg.agent("chan").password_hash, "n3w-pass-word")
    assert agent_for_token(cfg, None, token, None) == (True, cfg.agent("li"))
    assert "# Agents who answer" in file.read_text(encoding="utf-8")  # comments kept
    printed = CliRunner().invoke(agents_cli, ["set-password", "wang", "--password", "abcdefgh9"])
    assert check_password_hash(printed.output.strip(), "abcdefgh9")
