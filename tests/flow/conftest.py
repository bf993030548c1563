"""Flow tests read the repository's real default config files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ivr.config.models import ElderConfig, MenuConfig, ServiceConfig
from ivr.flow.engine import FlowConfig

REPO = Path(__file__).resolve().parents[2]


def load_flow_config(**elder_overrides) -> FlowConfig:
    read = lambda name: yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))  # noqa: E731
    elders = {**read("elders.yaml"), **elder_overrides}
    return FlowConfig(
        service=ServiceConfig.model_validate(read("ivr.yaml")),
        menus=MenuConfig.model_validate(read("menus.yaml")),
        elders=ElderConfig.model_validate(elders),
    )


@pytest.fixture
def cfg() -> FlowConfig:
    return load_flow_config()
