"""How long menus take to say, against `limits` in config/menus.yaml (for `ivr check`).

A prompt's length comes from ``seconds_of(text, dialect, mode)``: the rendered audio's duration
when it exists, else an estimate from the measured speaking rate (``VoiceCatalog.speech_seconds``).
Pure: tests pass their own ``seconds_of``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivr.config.voice_profiles import MODES
from ivr.flow.engine import CallState, FlowConfig, menu_prompt

SecondsOf = Callable[[str, str, str], float]


@dataclass(frozen=True)
class MenuTiming:
    """One menu in one dialect and voice mode, as a caller hears it."""

    node: str
    dialect: str
    mode: str
    seconds: float
    human_option_by: float  # seconds until the human option has been said
    choices: int  # keys offered besides the human option
    first: bool  # the first menu of a call (with the greeting)


@dataclass(frozen=True)
class TimingWarning:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


def time_menu(cfg: FlowConfig, node: str, dialect: str, mode: str, seconds_of: SecondsOf,
              first: bool) -> MenuTiming:
    """The first menu (greeting, undecided dialect: the longest) or a later one (with the
    controls, said in the first later menu)."""
    state = CallState(dialect=dialect, node=node, voice_mode=mode)
    sentences = menu_prompt(cfg, state, greeting=first).sentences
    human = cfg.menus.phrases.human_first
    human_texts = {t.format(key=cfg.service.keys.human) for t in human.values()}
    total, human_by, choices = 0.0, None, 0
    for s in sentences:
        total += seconds_of(s, dialect, mode)
        if s in human_texts:
            human_by = human_by if human_by is not None else total
        elif _offers_a_key(cfg, s):
            choices += 1
    return MenuTiming(node, dialect, mode, round(total, 2), round(human_by or 0.0, 2), choices,
                      first)


def _offers_a_key(cfg: FlowConfig, sentence: str) -> bool:
    keys = {o.key for n in cfg.menus.nodes.values() for o in n.options}
    keys |= {o.key for o in cfg.service.dialects.offered}
    if cfg.elders.self_identify_key:
        keys.add(cfg.elders.self_identify_key)
    return any(f"按{k}" in sentence for k in keys)


def timings(cfg: FlowConfig, seconds_of: SecondsOf) -> list[MenuTiming]:
    """The first menu and every menu node, per dialect and voice mode."""
    out = []
    for dialect in cfg.service.dialects.known:
        for mode in MODES:
            out.append(time_menu(cfg, cfg.menus.root, dialect, mode, seconds_of, first=True))
            for node in cfg.menus.nodes:
                out.append(time_menu(cfg, node, dialect, mode, seconds_of, first=False))
    return out


def timing_warnings(cfg: FlowConfig, seconds_of: SecondsOf,
                    menus_file: str = "config/menus.yaml") -> list[TimingWarning]:
    """Menus that take longer than `limits` allows; a warning each (the service still runs)."""
    lim = cfg.menus.limits
    out: list[TimingWarning] = []
    root_options = len(cfg.menus.nodes[cfg.menus.root].options)
    if root_options > lim.first_menu_choices:
        out.append(TimingWarning(menus_file, f"nodes.{cfg.menus.root}.options",
                                 f"{root_options} choices in the first menu; limits."
                                 f"first_menu_choices is {lim.first_menu_choices}"))
    for t in timings(cfg, seconds_of):
        if not t.first:
            continue
        where = f"nodes.{t.node} ({t.dialect}, {t.mode}, first menu)"
        limit = {"normal": lim.first_menu_seconds, "elder": lim.first_menu_seconds_elder}.get(
            t.mode)  # the slowest mode is the caller's own choice (`#`): no length limit
        if limit is not None and t.seconds > limit:
            out.append(TimingWarning(menus_file, where, f"greeting and first menu take "
                                     f"{t.seconds:.1f} s, over the {limit:g} s limit"))
        if t.human_option_by > lim.human_option_by_seconds:
            out.append(TimingWarning(menus_file, where, f"the human option ends at "
                                     f"{t.human_option_by:.1f} s, over "
                                     f"{lim.human_option_by_seconds:g} s"))
    return out
