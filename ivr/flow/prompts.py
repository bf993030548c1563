"""Every sentence the flow can say, per dialect: what `ivr render` and start-up render ahead."""

from __future__ import annotations

from typing import Any

from ivr.config.models import text_for
from ivr.flow.engine import CallState, FlowConfig, menu_prompt


def all_prompt_texts(config: Any) -> list[tuple[str, str]]:
    """(text, dialect) pairs, without duplicates, in a stable order."""
    cfg = FlowConfig(service=config.service, menus=config.menus, elders=config.elders)
    default = cfg.service.dialects.default
    out: dict[tuple[str, str], None] = {}
    for dialect in cfg.service.dialects.known:
        def add(text: str, d: str = dialect) -> None:
            if text:
                out[(text, d)] = None

        for node_id, node in cfg.menus.nodes.items():
            for elder in (False, True):
                state = CallState(dialect=dialect, node=node_id, elder=elder)
                for s in menu_prompt(cfg, state, greeting=node_id == cfg.menus.root).sentences:
                    add(s)
            for opt in node.options:
                for texts in (getattr(opt.action, "text", None),
                              getattr(opt.action, "goodbye", None)):
                    if texts:
                        add(text_for(texts, dialect, default))
        phrases = cfg.menus.phrases
        for name in ("silence", "not_understood", "transfer", "elder_direct", "failsafe",
                     "controls", "human_speech", "silence_transfer"):
            add(text_for(getattr(phrases, name), dialect, default))
        for name in type(phrases.queue).model_fields:  # what waiting callers hear
            add(text_for(getattr(phrases.queue, name), dialect, default))
        add(config.scam.warning(dialect))
    return list(out)
