"""What `ivr render` and start-up render ahead: every sentence a caller can hear, queue included."""

from __future__ import annotations

from ivr.config.loader import load_config
from ivr.config.models import text_for
from ivr.flow.prompts import all_prompt_texts
from tests.helpers import make_settings


def test_queue_sentences_are_rendered_ahead_in_every_dialect(tmp_path):
    config = load_config(make_settings(tmp_path, None))
    pairs = set(all_prompt_texts(config))
    queue = config.menus.phrases.queue
    default = config.service.dialects.default
    for dialect in config.service.dialects.known:
        for name in type(queue).model_fields:
            said = text_for(getattr(queue, name), dialect, default)
            assert (said, dialect) in pairs, (name, dialect)
