"""The pure call-flow rules, on the default menu config."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from ivr.config.models import HangupAction
from ivr.flow.engine import (
    CallerInfo,
    Goodbye,
    Prompt,
    Transfer,
    dialect_for_number,
    handle_input,
    start_call,
)
from tests.flow.conftest import REPO, load_flow_config


def walk(cfg, keys):
    """Start a call and press ``keys`` one by one; returns the last outcome."""
    out = start_call(cfg, CallerInfo())
    for k in keys:
        out = handle_input(cfg, out.state, k or None)
    return out


def reachable_paths(cfg):
    """Key sequences that reach every menu node from the root."""
    paths = {cfg.menus.root: ""}
    frontier = [cfg.menus.root]
    while frontier:
        node = frontier.pop()
        for opt in cfg.menus.nodes[node].options:
            target = getattr(opt.action, "node", None)
            if opt.action.type == "goto" and target not in paths:
                paths[target] = paths[node] + opt.key
                frontier.append(target)
    return paths


def test_every_node_is_reached_and_zero_transfers_from_each(cfg):
    paths = reachable_paths(cfg)
    assert set(paths) == set(cfg.menus.nodes)
    for node, keys in paths.items():
        before = walk(cfg, list(keys))
        assert before.state.node == node
        out = handle_input(cfg, before.state, "0")
        assert isinstance(out.decision, Transfer), node
        assert out.decision.reason == "caller_request"


def test_human_option_is_said_first_in_every_menu(cfg):
    for node, keys in reachable_paths(cfg).items():
        prompt = walk(cfg, list(keys)).decision
        assert isinstance(prompt, Prompt)
        first = prompt.sentences[1] if node == cfg.menus.root and not keys else prompt.sentences[0]
        assert "人工" in first and "0" in first, (node, prompt.sentences)


def test_first_silence_says_a_person_is_coming_and_transfers(cfg):
    out = walk(cfg, [""])
    assert isinstance(out.decision, Transfer)
    assert out.decision.reason == "no_input"
    assert out.decision.sentences == (cfg.menus.phrases.silence_transfer["mandarin"],)


def test_with_two_silences_allowed_the_first_reprompts_never_hang_up(cfg):
    two = replace(cfg, service=cfg.service.model_copy(update={
        "timeouts": cfg.service.timeouts.model_copy(update={"max_silences": 2})}))
    once = walk(two, [""])
    assert isinstance(once.decision, Prompt)
    assert "还在" in once.decision.sentences[0]
    twice = handle_input(two, once.state, None)
    assert isinstance(twice.decision, Transfer)
    assert twice.decision.reason == "no_input"


def test_wrong_key_reprompts_once_then_transfers(cfg):
    once = walk(cfg, ["5"])
    assert isinstance(once.decision, Prompt)
    assert "不在菜单" in once.decision.sentences[0]
    twice = handle_input(cfg, once.state, "6")
    assert isinstance(twice.decision, Transfer)
    assert twice.decision.reason == "wrong_keys"


def test_valid_key_resets_the_counters(cfg):
    out = walk(cfg, ["5", "1", "5"])
    assert isinstance(out.decision, Prompt)  # the wrong key before "1" is forgiven


def test_repeat_and_slower(cfg):
    first = walk(cfg, ["1"])
    again = handle_input(cfg, first.state, "*")
    # the same menu again; the `*`/`#` controls were said once already
    controls = cfg.menus.phrases.controls["mandarin"]
    assert controls in first.decision.sentences
    assert again.decision.sentences == tuple(s for s in first.decision.sentences if s != controls)
    slower = handle_input(cfg, again.state, "#")
    assert slower.state.voice_mode == "elder"
    assert slower.remember == {"voice_mode": "elder"}
    slowest = handle_input(cfg, slower.state, "#")
    assert handle_input(cfg, slowest.state, "#").state.voice_mode == "elder_slower"


def test_known_elder_direct_gets_a_human_with_no_key(cfg):
    out = start_call(cfg, CallerInfo(known_elder=True))
    assert isinstance(out.decision, Transfer)
    assert out.decision.reason == "elder_direct"
    assert out.state.elder and out.state.voice_mode == "elder"


def test_elder_offer_policy_human_first_max_three_any_key_is_human():
    cfg = load_flow_config(policy="offer")
    out = start_call(cfg, CallerInfo(known_elder=True))
    assert isinstance(out.decision, Prompt)
    assert out.decision.timeout >= 8
    assert "人工" in out.decision.sentences[1]
    options = [s for s in out.decision.sentences if "请按" in s and "人工" not in s]
    assert len([s for s in options if s[-2].isdigit()]) <= 3
    wrong = handle_input(cfg, out.state, "5")
    assert isinstance(wrong.decision, Transfer)


def test_self_identified_elder_reaches_human_with_one_key(cfg):
    out = walk(cfg, ["9"])
    assert isinstance(out.decision, Transfer)
    assert out.decision.reason == "elder_self"
    assert out.state.elder


def test_dialect_key_switches_and_is_remembered(cfg):
    out = walk(cfg, ["8"])
    assert out.state.dialect == "cantonese"
    assert out.remember == {"dialect": "cantonese"}
    assert "你好" in out.decision.sentences[0]
    again = start_call(cfg, CallerInfo(remembered_dialect="cantonese"))
    assert again.state.dialect == "cantonese"


def test_number_prefix_gives_default_dialect(cfg):
    assert dialect_for_number(cfg, "+8620123456") == "cantonese"
    assert dialect_for_number(cfg, "+862812345678") == "sichuanese"
    assert dialect_for_number(cfg, "+8613912345678") is None
    out = start_call(cfg, CallerInfo(prefix_dialect="sichuanese"))
    assert out.state.dialect == "sichuanese"


def test_spoken_intents_act_like_keys(cfg):
    out = start_call(cfg, CallerInfo())
    moved = handle_input(cfg, out.state, intent="balance")
    assert moved.state.node == "account"
    human = handle_input(cfg, moved.state, intent="human_agent")
    assert isinstance(human.decision, Transfer)


def test_info_returns_to_the_menu_with_the_information_first(cfg):
    out = walk(cfg, ["1", "1"])
    assert isinstance(out.decision, Prompt)
    assert "手机银行" in out.decision.sentences[0]
    assert out.state.node == "account"


def test_only_an_explicit_choice_hangs_up(cfg):
    node = cfg.menus.nodes["account"]
    bye = node.options[2].model_copy(update={
        "action": HangupAction(type="hangup", goodbye={"mandarin": "再见"})})
    nodes = {**cfg.menus.nodes, "account": node.model_copy(
        update={"options": [node.options[0], node.options[1], bye]})}
    cfg2 = replace(cfg, menus=cfg.menus.model_copy(update={"nodes": nodes}))
    out = walk(cfg2, ["1", "3"])
    assert isinstance(out.decision, Goodbye)
    # silence and wrong keys in the same menu never end in Goodbye
    for keys in (["1", "", ""], ["1", "7", "7"]):
        assert not isinstance(walk(cfg2, keys).decision, Goodbye)


@pytest.mark.parametrize("keys", [[""], ["5"], ["1", ""], ["3", "6"]])
def test_no_sequence_of_silence_or_wrong_keys_ends_without_a_human(cfg, keys):
    out = walk(cfg, keys)
    for _ in range(5):
        if isinstance(out.decision, Transfer):
            break
        out = handle_input(cfg, out.state, None)
    assert isinstance(out.decision, Transfer)


def _choices(sentences):
    """Keys offered besides the human option (the `*`/`#` controls are not choices)."""
    return [s for s in sentences if "按" in s and "人工" not in s and "星号" not in s]


def test_first_menu_says_the_human_option_right_after_the_greeting_and_few_choices(cfg):
    for caller in (CallerInfo(), CallerInfo(prefix_dialect="cantonese"),
                   CallerInfo(remembered_voice_mode="elder_slower")):
        prompt = start_call(cfg, caller).decision
        assert isinstance(prompt, Prompt)
        assert "人工" in prompt.sentences[1] and "0" in prompt.sentences[1]
        assert len(_choices(prompt.sentences)) <= cfg.menus.limits.first_menu_choices
        assert not any("星号" in s for s in prompt.sentences), "controls in the first menu"


def test_dialect_offers_only_when_the_prefix_did_not_decide(cfg):
    undecided = start_call(cfg, CallerInfo()).decision.sentences
    assert any("广东话" in s for s in undecided)
    for caller in (CallerInfo(prefix_dialect="cantonese"), CallerInfo(prefix_dialect="sichuanese"),
                   CallerInfo(remembered_dialect="mandarin")):
        sentences = start_call(cfg, caller).decision.sentences
        assert not any("广东话" in s or "四川话" in s for s in sentences), caller
    chosen = walk(cfg, ["8"])  # a Cantonese speaker chose by key: greeted again, no more offers
    assert chosen.state.dialect == "cantonese" and chosen.state.dialect_decided
    assert not any("广东话" in s or "四川话" in s for s in chosen.decision.sentences)


def test_an_offer_left_out_of_the_first_menu_still_works(cfg):
    said = " ".join(start_call(cfg, CallerInfo()).decision.sentences)
    assert "四川话" not in said  # over the choice budget
    out = walk(cfg, ["7"])
    assert out.state.dialect == "sichuanese"


def test_controls_are_said_once_per_call(cfg):
    out = start_call(cfg, CallerInfo())
    heard = []
    for key in ("1", "4", "1", "*", "1"):  # account, back, account, repeat, balance info
        out = handle_input(cfg, out.state, key)
        heard.append(any("星号" in s for s in out.decision.sentences))
    assert heard == [True, False, False, False, False]


def test_elder_line_caller_who_presses_nothing_gets_the_elder_policy(cfg):
    out = start_call(cfg, CallerInfo(elder_line=True))
    assert isinstance(out.decision, Prompt) and out.state.voice_mode == "elder"
    assert not any("老年人" in s for s in out.decision.sentences)  # no elder offer on its line
    silent = handle_input(cfg, out.state, None)
    assert isinstance(silent.decision, Transfer)
    assert silent.decision.reason == "elder_line" and silent.state.elder
    offer = load_flow_config(policy="offer")
    out = start_call(offer, CallerInfo(elder_line=True))
    silent = handle_input(offer, out.state, None)
    assert isinstance(silent.decision, Prompt) and silent.state.elder
    assert isinstance(handle_input(offer, silent.state, "5").decision, Transfer)  # any key


def test_known_elder_hears_one_sentence_then_the_queue(cfg):
    out = start_call(cfg, CallerInfo(known_elder=True))
    assert out.decision.sentences == (cfg.menus.phrases.elder_direct["mandarin"],)


def test_saying_surrender_or_claim_in_the_insurance_menu_reaches_insurance_agents(cfg):
    """The grammar files 退保/理赔/保单 under policy_service: in the insurance menu that intent must
    pick the option that transfers (退保和理赔), not the SMS policy info."""
    grammar = yaml.safe_load((REPO / "grammars" / "mandarin.yaml").read_text(encoding="utf-8"))
    said = [i for i, phrases in grammar["intents"].items() if "退保" in phrases]
    assert said == ["policy_service"]
    menu = walk(cfg, ["2"])
    assert menu.state.node == "insurance"
    out = handle_input(cfg, menu.state, intent="policy_service")
    assert isinstance(out.decision, Transfer) and out.decision.reason == "policy_service"
