from __future__ import annotations

import pytest

from ivr.understanding.grammar_config import load_grammars
from ivr.understanding.intents import IntentMatcher
from ivr.understanding.scam import ScamDetector
from ivr.understanding.scam_config import load_lexicon
from tests.conftest import REPO


@pytest.fixture(scope="session")
def grammars():
    return load_grammars(REPO / "grammars")


@pytest.fixture(scope="session")
def matchers(grammars):
    return {name: IntentMatcher(g) for name, g in grammars.items()}


@pytest.fixture(scope="session")
def lexicon():
    return load_lexicon(REPO / "config" / "scam.yaml")


@pytest.fixture(scope="session")
def detector(lexicon):
    return ScamDetector(lexicon)
