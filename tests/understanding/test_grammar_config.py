import pytest
from pydantic import ValidationError

from ivr.understanding.grammar_config import Grammar

CORE = {"human_agent", "repeat", "slower", "balance", "lost_card", "insurance", "policy_service",
        "loan", "yes", "no", "elder", "back", "main_menu"}


def test_all_dialect_files_load_with_core_intents(grammars):
    assert set(grammars) == {"mandarin", "cantonese", "sichuanese"}
    for name, g in grammars.items():
        assert set(g.intents) >= CORE, name
        assert 0 < g.threshold <= 1


def test_dialect_wordings_note_their_mandarin(grammars):
    canto = {p.text: p.mandarin for p in grammars["cantonese"].intents["human_agent"]}
    assert canto["搵人工"] == "找人工"
    sich = {p.text: p.mandarin for p in grammars["sichuanese"].intents["repeat"]}
    assert sich["你说啥子"] == "你说什么"


def test_vosk_phrases_restricted_to_node_intents(grammars):
    phrases = grammars["cantonese"].vosk_phrases(["human_agent", "yes"])
    assert phrases[-1] == "[unk]"
    assert "搵人工" in phrases and "找人工" in phrases and "系" in phrases
    assert "查余额" not in phrases
    with pytest.raises(ValueError):
        grammars["mandarin"].vosk_phrases(["no_such_intent"])


def test_typos_and_bad_values_are_errors():
    base = {"name": "x", "intents": {"yes": ["是的"]}}
    Grammar.model_validate(base)
    with pytest.raises(ValidationError):
        Grammar.model_validate({**base, "treshold": 0.7})
    with pytest.raises(ValidationError):
        Grammar.model_validate({**base, "confusions": ["k/g"]})
    with pytest.raises(ValidationError):
        Grammar.model_validate({"name": "x", "intents": {"a": ["人工"], "b": ["人工"]}})
    with pytest.raises(ValidationError):
        Grammar.model_validate({"name": "x", "intents": {"Bad-Id": ["人工"]}})


def test_yaml_boolean_keys_mean_yes_and_no():
    g = Grammar.model_validate({"name": "x", "intents": {True: ["是的"], False: ["不是"]}})
    assert set(g.intents) == {"yes", "no"}
