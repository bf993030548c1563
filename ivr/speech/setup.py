"""The speech service a process builds from config (models found on disk, or None)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ivr.speech.asr import SpeechService
from ivr.speech.recognizer import GrammarFor

log = logging.getLogger(__name__)


def speech_from_config(root: Path, config: Any,
                       grammar_for: GrammarFor | None = None) -> SpeechService | None:
    """None when speech is off in config or no model folder exists (calls then use DTMF only).

    Building it loads nothing: a webhook worker uses it only to know whether to start a stream;
    the media process warms the models at start.
    """
    conf = config.service.speech
    if not conf.enabled:
        log.info("speech recognition off by configuration")
        return None
    models = {d: str(p if Path(p).is_absolute() else root / p) for d, p in conf.models.items()}
    service = SpeechService(models, grammar_for=grammar_for, free_form=conf.free_form_for_scam,
                            default_dialect=config.service.dialects.default)
    return service if service.enabled else None
