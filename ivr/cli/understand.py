"""`ivr understand` and `ivr scam-check`: the live decision path on stdin, one JSON line each.

Why: admins tuning grammars/ or config/scam.yaml can replay real transcripts and see at once what
a phrase change does, without a call or a server. Both commands use the same deciders (grammar or
lexicon + trained model) as live calls, and print why: the phrase or the n-grams that weighed most.
"""

from __future__ import annotations

import json
import sys

import click

from ivr.settings import Settings
from ivr.understanding import artifact
from ivr.understanding.decision import CallScamJudge, IntentDecider
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
@click.option("--no-model", is_flag=True, help="Grammar only (what the service did before).")
def understand(dialect: str, allowed: str | None, no_model: bool) -> None:
    """Match transcripts (one per line on stdin) to intents."""
    path = Settings.from_env().grammars_dir / f"{dialect}.yaml"
    if not path.exists():
        raise click.ClickException(f"no grammar {path}")
    model = None if no_model else artifact.load().intent
    decider = IntentDecider(IntentMatcher(load_grammar(path)), model)
    wanted = [a.strip() for a in allowed.split(",") if a.strip()] if allowed else None
    for text in _lines():
        _emit({"text": text, **decider.decide(text, wanted).to_dict()})


@click.command("scam-check")
@click.option("--call", "as_call", is_flag=True,
              help="Lines are one call's utterances in order: evidence accumulates, as live.")
@click.option("--no-model", is_flag=True, help="Lexicon only (what the service did before).")
def scam_check(as_call: bool, no_model: bool) -> None:
    """Check utterances (one per line on stdin) against config/scam.yaml and the scam model."""
    detector = ScamDetector(load_lexicon(Settings.from_env().config_dir / "scam.yaml"))
    model = None if no_model else artifact.load().scam
    judge = CallScamJudge(detector, model)
    for text in _lines():
        if not as_call:
            judge = CallScamJudge(detector, model)
        _emit({"text": text, **judge.feed(text, final=True).to_dict()})
