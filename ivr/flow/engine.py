"""The call flow as pure decisions: (call state, config, caller input) -> what happens next.

No Flask, Redis or Twilio here, so every rule (one key to a human, silences, wrong keys, elder
policy, dialect choice) is tested without a server. The rules, in order of precedence:
the human key / intent always wins; `*` repeats; `#` slows down; a menu option acts; at the root,
dialect and elder keys are honoured; anything else is a wrong key. Silence and wrong keys are
counted and, past the limit, end with a human, never with a hang-up.

Time is the caller's: the first menu says the human option right after the greeting and at most
``limits.first_menu_choices`` other choices; dialect offers only when neither the number's prefix
nor the caller's memory chose the dialect; the `*`/`#` controls once per call, never in the first
menu; by default the first silence brings a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ivr.config.models import (
    ElderConfig,
    GotoAction,
    HangupAction,
    InfoAction,
    MenuConfig,
    MenuOption,
    ServiceConfig,
    TransferAction,
    text_for,
)
from ivr.config.voice_profiles import MODES, next_slower

VOICE_MODES = MODES  # fastest to slowest
HUMAN_INTENT = "human_agent"


@dataclass(frozen=True)
class FlowConfig:
    """The three config files the engine reads."""

    service: ServiceConfig
    menus: MenuConfig
    elders: ElderConfig


@dataclass(frozen=True)
class CallerInfo:
    """What is known about the caller before the first prompt."""

    known_elder: bool = False
    remembered_dialect: str | None = None
    remembered_voice_mode: str | None = None
    prefix_dialect: str | None = None
    elder_line: bool = False  # the caller dialled the elder line (elders.yaml `lines`)


@dataclass(frozen=True)
class CallState:
    """Everything the flow needs between webhooks; stored per CallSid."""

    dialect: str
    node: str
    voice_mode: str = "normal"
    elder: bool = False
    elder_source: str | None = None
    silences: int = 0
    wrong_keys: int = 0
    path: tuple[str, ...] = ()
    step: int = 0
    transferred: bool = False
    transfer_reason: str | None = None
    left: bool = False
    dialect_decided: bool = False  # prefix, memory or a key chose it: no dialect offers
    controls_said: bool = False  # `*`/`#` are explained once per call
    elder_line: bool = False


@dataclass(frozen=True)
class Prompt:
    """Play these sentences inside a Gather for ``node`` and wait for one key."""

    kind: Literal["prompt"] = "prompt"
    sentences: tuple[str, ...] = ()
    timeout: int = 6


@dataclass(frozen=True)
class Transfer:
    """Say these sentences and put the caller in the human queue."""

    kind: Literal["transfer"] = "transfer"
    sentences: tuple[str, ...] = ()
    reason: str = "caller_request"
    topic: str | None = None


@dataclass(frozen=True)
class Goodbye:
    """The caller chose to leave: say goodbye and hang up."""

    kind: Literal["goodbye"] = "goodbye"
    sentences: tuple[str, ...] = ()


Decision = Prompt | Transfer | Goodbye


@dataclass(frozen=True)
class Outcome:
    state: CallState
    decision: Decision
    remember: dict[str, str] = field(default_factory=dict)  # caller preferences to keep


def first_dialect(cfg: FlowConfig, caller: CallerInfo) -> str:
    """Remembered choice, else the number-prefix default, else the service default."""
    known = cfg.service.dialects.known
    for d in (caller.remembered_dialect, caller.prefix_dialect):
        if d and d in known:
            return d
    return cfg.service.dialects.default


def dialect_for_number(cfg: FlowConfig, number: str) -> str | None:
    """Longest configured prefix of the caller number wins."""
    best: tuple[int, str | None] = (0, None)
    for prefix, dialect in cfg.service.dialects.by_prefix.items():
        if number.startswith(prefix) and len(prefix) > best[0]:
            best = (len(prefix), dialect)
    return best[1]


def start_call(cfg: FlowConfig, caller: CallerInfo) -> Outcome:
    """The first answer to a call: greeting and root menu, or a human at once for known elders."""
    dialect = first_dialect(cfg, caller)
    known = cfg.service.dialects.known
    decided = any(d and d in known for d in (caller.remembered_dialect, caller.prefix_dialect))
    mode = caller.remembered_voice_mode if caller.remembered_voice_mode in VOICE_MODES else None
    state = CallState(dialect=dialect, node=cfg.menus.root, voice_mode=mode or "normal",
                      path=(cfg.menus.root,), dialect_decided=decided,
                      elder_line=caller.elder_line)
    if caller.elder_line:  # slow from the first word; who presses nothing gets the elder policy
        state = replace(state, voice_mode=_slower_of(state.voice_mode,
                                                     cfg.elders.profile.voice_mode))
    if caller.known_elder:
        state = _as_elder(cfg, state, "known")
        if cfg.elders.policy == "direct":  # one sentence (it greets), then the queue
            return _transfer(cfg, state, "elder_direct", (_t(cfg, "elder_direct", state),))
    return _menu(cfg, state, greeting=True)


def handle_input(
    cfg: FlowConfig, state: CallState, digits: str | None = None, intent: str | None = None
) -> Outcome:
    """One caller action at the current node: a key, a recognised intent, or silence (neither)."""
    state = replace(state, step=state.step + 1)
    if state.transferred or state.left:  # late input after we already acted: say it again
        return Outcome(state, menu_prompt(cfg, state))
    keys = cfg.service.keys
    key = (digits or "")[:1]
    if key == keys.human or intent == HUMAN_INTENT:
        return _transfer(cfg, state, "caller_request")
    if not key and not intent:
        return _silence(cfg, state)
    if key == keys.repeat or intent == "repeat":
        return _menu(cfg, _reset(state))
    if key == keys.slower or intent == "slower":
        slower = replace(_reset(state), voice_mode=next_slower(state.voice_mode))
        return _menu(cfg, slower, remember={"voice_mode": slower.voice_mode})
    option = _find_option(cfg, state, key, intent)
    if option is not None:
        return _act(cfg, _reset(state), option)
    if state.node == cfg.menus.root:
        root = _root_extra(cfg, state, key, intent)
        if root is not None:
            return root
    return _wrong(cfg, state)


def menu_prompt(cfg: FlowConfig, state: CallState, greeting: bool = False,
                before: tuple[str, ...] = ()) -> Prompt:
    """The sentences of a menu: the human option always first, then the options.

    The first menu (``greeting``) is kept short: no controls, and at the root no more than
    ``limits.first_menu_choices`` choices besides the human option. The controls are said in
    the first later menu unless ``state.controls_said``."""
    node = cfg.menus.nodes[state.node]
    sentences: list[str] = list(before)
    if greeting:
        sentences.append(_t(cfg, "greeting", state))
    sentences.append(_t(cfg, "human_first", state, key=cfg.service.keys.human))
    sentences.append(_t(cfg, "human_speech", state))
    options = visible_options(cfg, state)
    elder, dialects = root_offers(cfg, state, len(options)) if state.node == cfg.menus.root else (
        [], [])
    sentences += elder  # the elder line next: who needs it hears it early
    intro = text_for(node.intro, state.dialect, cfg.service.dialects.default) if node.intro else ""
    if intro:
        sentences.append(intro)
    for opt in options:
        label = text_for(opt.label, state.dialect, cfg.service.dialects.default)
        sentences.append(_t(cfg, "option", state, label=label, key=opt.key))
    sentences += dialects
    if says_controls(state, greeting):
        sentences.append(_t(cfg, "controls", state))
    return Prompt(sentences=tuple(s for s in sentences if s), timeout=gather_timeout(cfg, state))


def root_offers(cfg: FlowConfig, state: CallState, options: int) -> tuple[list[str], list[str]]:
    """The elder line and dialect offers, within what is left of the choice budget
    (elders: ``max_options`` in all; everyone: ``limits.first_menu_choices``)."""
    room = cfg.menus.limits.first_menu_choices - options
    if state.elder:
        room = min(room, cfg.elders.profile.max_options - options)
    elder: list[str] = []
    if not state.elder and not state.elder_line and cfg.elders.self_identify_key and room > 0:
        elder.append(_t(cfg, "elder_offer", state, key=cfg.elders.self_identify_key))
        room -= 1
    out: list[str] = []
    if state.dialect_decided:
        return elder, out
    for offer in cfg.service.dialects.offered:
        if room <= 0:
            break
        if offer.dialect != state.dialect:
            name = cfg.service.dialects.known[offer.dialect]
            # the offer is worded in the offered dialect, so its speakers recognise it
            out.append(_t(cfg, "dialect_offer", state, name=name, key=offer.key,
                          dialect=offer.dialect))
            room -= 1
    return elder, out


def says_controls(state: CallState, greeting: bool) -> bool:
    """`*`/`#` are explained once per call, in the first menu after the first one."""
    return not greeting and not state.controls_said


def visible_options(cfg: FlowConfig, state: CallState) -> list[MenuOption]:
    """Elders get at most ``max_options`` choices per menu (the first ones)."""
    options = cfg.menus.nodes[state.node].options
    if state.elder:
        return list(options[: cfg.elders.profile.max_options])
    return list(options)


def gather_timeout(cfg: FlowConfig, state: CallState) -> int:
    if state.elder:
        return max(cfg.elders.profile.gather_timeout_seconds, cfg.service.timeouts.gather_seconds)
    return cfg.service.timeouts.gather_seconds


def _t(cfg: FlowConfig, phrase: str, state: CallState, dialect: str | None = None,
       **values: str) -> str:
    texts = getattr(cfg.menus.phrases, phrase)
    template = text_for(texts, dialect or state.dialect, cfg.service.dialects.default)
    return template.format(**values) if values else template


def _menu(cfg: FlowConfig, state: CallState, greeting: bool = False,
          before: tuple[str, ...] = (), remember: dict[str, str] | None = None) -> Outcome:
    """A menu prompt, noting in the state that the controls were said (once per call)."""
    prompt = menu_prompt(cfg, state, greeting=greeting, before=before)
    if says_controls(state, greeting):
        state = replace(state, controls_said=True)
    return Outcome(state, prompt, remember or {})


def _reset(state: CallState) -> CallState:
    return replace(state, silences=0, wrong_keys=0)


def _slower_of(mode: str, other: str) -> str:
    return max(mode, other, key=VOICE_MODES.index)


def _as_elder(cfg: FlowConfig, state: CallState, source: str) -> CallState:
    mode = _slower_of(state.voice_mode, cfg.elders.profile.voice_mode)
    return replace(state, elder=True, elder_source=source, voice_mode=mode)


def _find_option(cfg: FlowConfig, state: CallState, key: str,
                 intent: str | None) -> MenuOption | None:
    for opt in visible_options(cfg, state):
        if (key and opt.key == key) or (intent and opt.intent == intent):
            return opt
    return None


def _act(cfg: FlowConfig, state: CallState, option: MenuOption) -> Outcome:
    action = option.action
    if isinstance(action, GotoAction):
        moved = replace(state, node=action.node, path=state.path + (action.node,))
        return _menu(cfg, moved)
    if isinstance(action, InfoAction):
        target = action.then or state.node
        moved = replace(state, node=target, path=state.path + (f"info:{option.key}",))
        info = text_for(action.text, state.dialect, cfg.service.dialects.default)
        return _menu(cfg, moved, before=(info,))
    if isinstance(action, TransferAction):
        moved = replace(state, path=state.path + (f"transfer:{action.reason}",))
        return _transfer(cfg, moved, action.reason, topic=action.skill)
    if isinstance(action, HangupAction):
        bye = text_for(action.goodbye, state.dialect, cfg.service.dialects.default)
        return Outcome(replace(state, left=True), Goodbye(sentences=(bye,)))
    raise TypeError(f"unknown action {action!r}")  # pragma: no cover - schema forbids it


def _root_extra(cfg: FlowConfig, state: CallState, key: str,
                intent: str | None) -> Outcome | None:
    """Greeting-level choices: the elder line and dialect offers."""
    ek = cfg.elders.self_identify_key
    if (key and key == ek) or intent == "elder":
        elder = _as_elder(cfg, _reset(state), "self")
        if cfg.elders.policy == "direct":
            return _transfer(cfg, elder, "elder_self")
        return _menu(cfg, elder, remember={"voice_mode": elder.voice_mode})
    for offer in cfg.service.dialects.offered:
        if key and key == offer.key:
            chosen = replace(_reset(state), dialect=offer.dialect, dialect_decided=True)
            return _menu(cfg, chosen, greeting=True, remember={"dialect": offer.dialect})
    return None


def _silence(cfg: FlowConfig, state: CallState) -> Outcome:
    """Silence: a short "a person is coming" and the queue (by default at the first silence).
    On the elder line the caller who says nothing is an elder and gets the elder policy."""
    state = replace(state, silences=state.silences + 1)
    coming = (_t(cfg, "silence_transfer", state) or _t(cfg, "transfer", state),)
    if state.elder_line and not state.elder:
        elder = _as_elder(cfg, state, "line")
        if cfg.elders.policy == "direct":
            return _transfer(cfg, elder, "elder_line", coming)
        return _menu(cfg, _reset(elder), before=(_t(cfg, "silence", state),),
                     remember={"voice_mode": elder.voice_mode})
    if state.silences >= cfg.service.timeouts.max_silences:
        return _transfer(cfg, state, "no_input", coming)
    return _menu(cfg, state, before=(_t(cfg, "silence", state),))


def _wrong(cfg: FlowConfig, state: CallState) -> Outcome:
    state = replace(state, wrong_keys=state.wrong_keys + 1, silences=0)
    if state.elder and cfg.elders.policy == "offer":  # offer policy: any other key is a human
        return _transfer(cfg, state, "elder_any_key")
    if state.wrong_keys >= cfg.service.timeouts.max_wrong_keys:
        return _transfer(cfg, state, "wrong_keys")
    return _menu(cfg, state, before=(_t(cfg, "not_understood", state),))


def _transfer(cfg: FlowConfig, state: CallState, reason: str,
              sentences: tuple[str, ...] | None = None, topic: str | None = None) -> Outcome:
    said = sentences if sentences is not None else (_t(cfg, "transfer", state),)
    done = replace(state, transferred=True, transfer_reason=reason)
    return Outcome(done, Transfer(sentences=said, reason=reason, topic=topic))
