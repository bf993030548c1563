"""`ivr serve` refuses to start unsafely outside dev mode; `ivr check` refuses unsafe hooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ivr.config.loader import load_config
from ivr.local_redis import free_port
from ivr.routing.agents import hash_password
from ivr.startup_checks import startup_problems
from tests.helpers import REPO, make_settings


def run_ivr(args, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "IVR_ROOT": str(REPO), "IVR_VAR_DIR": str(tmp_path / "var"),
            "PYTHONPATH": str(REPO), **env}
    for key in ("TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"):
        if key not in env:
            full.pop(key, None)
    return subprocess.run([sys.executable, "-m", "ivr", *args], env=full, capture_output=True,
                          text=True, timeout=120)


def free_binds() -> list[str]:
    """Ports nobody uses: a service running on this machine (5000/5001) must not change results."""
    return ["--bind", f"127.0.0.1:{free_port()}", "--media-bind", f"127.0.0.1:{free_port()}"]


def config_copy(tmp_path: Path, real_passwords: bool = True) -> Path:
    """config/ with fresh agent passwords (not the documented demo ones)."""
    cfg = tmp_path / "config"
    shutil.copytree(REPO / "config", cfg)
    if real_passwords:
        path = cfg / "agents.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for agent in data["agents"]:
            agent["password_hash"] = hash_password("correct horse " + agent["id"])
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return cfg


def test_serve_with_a_real_token_and_no_public_url_refuses(tmp_path):
    res = run_ivr(["serve", *free_binds()], tmp_path, TWILIO_AUTH_TOKEN="a-real-token",
                  IVR_CONFIG_DIR=str(config_copy(tmp_path)))
    assert res.returncode == 1
    assert "no public URL" in res.stderr and "refusing to start" in res.stderr


def test_demo_passwords_are_refused_outside_dev_mode(tmp_path):
    res = run_ivr(["serve", *free_binds()], tmp_path, TWILIO_AUTH_TOKEN="a-real-token",
                  IVR_PUBLIC_URL="https://ivr.example.com")
    assert res.returncode == 1
    assert "demo password" in res.stderr
    for agent in ("wang", "chan", "li"):
        assert agent in res.stderr


def test_startup_checks_pass_with_real_passwords_and_warn_on_plain_http(tmp_path):
    cfg = config_copy(tmp_path)
    settings = make_settings(tmp_path, None, config_dir=cfg, public_url="https://ivr.example.com")
    config = load_config(settings)
    assert startup_problems(settings, config)[0] == []
    plain = make_settings(tmp_path, None, config_dir=cfg, public_url="http://ivr.example.com")
    errors, warnings = startup_problems(plain, config)
    assert errors == [] and any("plain http" in w for w in warnings)
    loop = make_settings(tmp_path, None, config_dir=cfg, public_url="http://127.0.0.1:5000")
    assert not any("plain http" in w for w in startup_problems(loop, config)[1])
    # dev mode: no URL needed (loopback default), demo passwords allowed
    dev = make_settings(tmp_path, None, public_url=None, dev_mode=True)
    assert startup_problems(dev, load_config(dev))[0] == []
    prod = make_settings(tmp_path, None, public_url=None)
    assert any("no public URL" in e for e in startup_problems(prod, load_config(prod))[0])


def set_hook(cfg: Path, hook: str, packages=None) -> None:
    path = cfg / "elders.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["lookup_hook"] = hook
    if packages is not None:
        data["hook_packages"] = packages
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_check_refuses_os_system_as_a_hook(tmp_path):
    cfg = config_copy(tmp_path, real_passwords=False)
    for hook, packages in (("os:system", None), ("builtins:eval", None),
                           ("subprocess:call", ["subprocess"]), ("hooks.nothere:f", None)):
        set_hook(cfg, hook, packages)
        res = run_ivr(["check"], tmp_path, IVR_CONFIG_DIR=str(cfg))
        assert res.returncode == 1, (hook, res.stderr)
        assert "lookup_hook" in res.stderr or "hook_packages" in res.stderr, res.stderr


def test_check_accepts_a_hook_in_the_deployment_hooks_folder(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for name in ("grammars", "voices"):
        os.symlink(REPO / name, root / name)
    cfg = config_copy(root, real_passwords=False)
    (root / "hooks").mkdir()
    (root / "hooks" / "elders.py").write_text("def is_elder(n):\n    return n.endswith('65')\n")
    set_hook(cfg, "hooks.elders:is_elder")
    res = run_ivr(["check"], tmp_path, IVR_ROOT=str(root), IVR_CONFIG_DIR=str(cfg))
    assert res.returncode == 0, res.stderr
