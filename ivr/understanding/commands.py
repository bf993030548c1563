"""`ivr understand` and `ivr scam-check`: the matcher and detector on stdin, one JSON line each.

Why: admins tuning grammars/ or config/scam.yaml can replay real transcripts and see at once what
a phrase change does, without a call or a server.
"""

from __future__ import annotations

import json
import sys

import click

from ivr.settings import Settings
from ivr.understanding.grammar_config import load_grammar
from ivr.understanding.intents import IntentMatcher
from ivr.understanding.scam import ScamDetector
from ivr.understanding.scam_config import load_lexicon


def _lines():
    for line in sys.stdin:
        text = line.strip()
        if text:
            yield text


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


@click.command("understand")
@click.option("--dialect", default="mandarin", show_default=True,
              help="Grammar file stem in grammars/ (mandarin, cantonese, sichuanese...).")
@click.option("--allowed", default=None, help="Comma-separated intents to restrict matching to.")
def understand(dialect: str, allowed: str | None) -> None:
    """Match transcripts (one per line on stdin) to intents."""
    path = Settings.from_env().grammars_dir / f"{dialect}.yaml"
    if not path.exists():
        raise click.ClickException(f"no grammar {path}")
    matcher = IntentMatcher(load_grammar(path))
    wanted = [a.strip() for a in allowed.split(",") if a.strip()] if allowed else None
    for text in _lines():
        m = matcher.match(text, wanted)
        _emit({"text": text, "intent": m.intent, "score": m.score, "phrase": m.phrase})


@click.command("scam-check")
def scam_check() -> None:
    """Check utterances (one per line on stdin) against config/scam.yaml."""
    detector = ScamDetector(load_lexicon(Settings.from_env().config_dir / "scam.yaml"))
    for text in _lines():
        _emit({"text": text, **detector.check(text).to_dict()})
