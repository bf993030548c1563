"""Load and validate config/, grammars/ and voices/; report every problem as file, key, reason."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ivr.config.elder_hook_rules import problems as hook_problems
from ivr.config.errors import ConfigError, ConfigProblem, problems_from_validation
from ivr.config.models import DialectText, ElderConfig, MenuConfig, ServiceConfig
from ivr.settings import Settings

M = TypeVar("M", bound=BaseModel)


def _rel(path: Path, settings: Settings) -> str:
    try:
        return str(path.resolve().relative_to(settings.root))
    except ValueError:
        return str(path)


def load_file(path: Path, model: type[M], shown: str, problems: list[ConfigProblem]) -> M | None:
    """Parse one YAML file into ``model``; on failure append problems and return None."""
    if not path.exists():
        problems.append(ConfigProblem(shown, "", "file not found"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(ConfigProblem(shown, where, f"invalid YAML: {reason}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(shown, "", f"not UTF-8 text: {exc.reason}"))
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(ConfigProblem(shown, "", "the top level must be a mapping of keys"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(shown, exc))
        return None


def load_config(settings: Settings):
    """Load the whole bundle or raise ConfigError listing every problem found."""
    from ivr.config.bundle import Config
    from ivr.config.voice_profiles import VoiceProfiles
    from ivr.routing.agents_config import AgentsConfig
    from ivr.understanding.grammar_config import Grammar
    from ivr.understanding.scam_config import ScamLexicon

    problems: list[ConfigProblem] = []
    files: dict[str, Path] = {
        "service": settings.config_dir / "ivr.yaml",
        "menus": settings.config_dir / "menus.yaml",
        "elders": settings.config_dir / "elders.yaml",
        "agents": settings.config_dir / "agents.yaml",
        "scam": settings.config_dir / "scam.yaml",
        "voices": settings.voices_dir / "profiles.yaml",
    }
    models: dict[str, type[BaseModel]] = {
        "service": ServiceConfig,
        "menus": MenuConfig,
        "elders": ElderConfig,
        "agents": AgentsConfig,
        "scam": ScamLexicon,
        "voices": VoiceProfiles,
    }
    loaded = {
        name: load_file(path, models[name], _rel(path, settings), problems)
        for name, path in files.items()
    }
    grammar_paths = sorted(settings.grammars_dir.glob("*.yaml"))
    grammars = {
        p.stem: load_file(p, Grammar, _rel(p, settings), problems) for p in grammar_paths
    }
    if problems:
        raise ConfigError(problems)
    problems.extend(
        cross_check(loaded["service"], loaded["menus"], loaded["elders"], grammars, settings)
    )
    if problems:
        raise ConfigError(problems)
    digest = hashlib.sha256()
    for path in [*files.values(), *grammar_paths]:
        digest.update(path.read_bytes())
    return Config(version=digest.hexdigest()[:12], grammars=grammars, **loaded)


def cross_check(
    service: ServiceConfig,
    menus: MenuConfig,
    elders: ElderConfig,
    grammars: dict,
    settings: Settings,
) -> list[ConfigProblem]:
    """Checks that need two files: names one file uses must exist in another."""
    out: list[ConfigProblem] = []
    ivr_file = _rel(settings.config_dir / "ivr.yaml", settings)
    menus_file = _rel(settings.config_dir / "menus.yaml", settings)
    elders_file = _rel(settings.config_dir / "elders.yaml", settings)
    default = service.dialects.default
    for dialect in service.dialects.known:
        if dialect not in grammars:
            out.append(ConfigProblem(
                ivr_file, f"dialects.known.{dialect}",
                f"no grammar file grammars/{dialect}.yaml for this dialect",
            ))
    default_grammar = grammars.get(default)
    intents = set(getattr(default_grammar, "intents", {}) or {})
    global_keys = {service.keys.human, service.keys.repeat, service.keys.slower}
    for node_id, node in menus.nodes.items():
        for i, opt in enumerate(node.options):
            where = f"nodes.{node_id}.options.{i}"
            if opt.intent and default_grammar is not None and opt.intent not in intents:
                out.append(ConfigProblem(
                    menus_file, f"{where}.intent",
                    f"intent {opt.intent!r} is not defined in grammars/{default}.yaml",
                ))
            if opt.key in global_keys:
                out.append(ConfigProblem(
                    menus_file, f"{where}.key",
                    f"key {opt.key!r} is reserved (human/repeat/slower in config/ivr.yaml keys)",
                ))
            for field in ("label",):
                out.extend(_needs_default(getattr(opt, field), default, menus_file,
                                          f"{where}.{field}"))
        out.extend(_needs_default(node.intro, default, menus_file, f"nodes.{node_id}.intro",
                                  allow_empty=True))
    for name in type(menus.phrases).model_fields:
        if name != "queue":
            out.extend(_needs_default(getattr(menus.phrases, name), default, menus_file,
                                      f"phrases.{name}"))
    for name in type(menus.phrases.queue).model_fields:
        out.extend(_needs_default(getattr(menus.phrases.queue, name), default, menus_file,
                                  f"phrases.queue.{name}"))
    root_keys = {o.key for o in menus.nodes[menus.root].options}
    greeting_keys: dict[str, str] = {}
    for i, offer in enumerate(service.dialects.offered):
        if offer.key in root_keys | global_keys:
            out.append(ConfigProblem(
                ivr_file, f"dialects.offered.{i}.key",
                f"key {offer.key!r} is already used by the root menu or a global key",
            ))
        greeting_keys[offer.key] = f"dialects.offered.{i}"
    for reason in hook_problems(elders.lookup_hook, elders.hook_packages, settings.root):
        out.append(ConfigProblem(elders_file, "lookup_hook", reason))
    ek = elders.self_identify_key
    if ek and (ek in root_keys | global_keys or ek in greeting_keys):
        out.append(ConfigProblem(
            elders_file, "self_identify_key",
            f"key {ek!r} is already used by the root menu, a dialect offer or a global key",
        ))
    return out


def _needs_default(
    texts: DialectText, default: str, file: str, key: str, allow_empty: bool = False
) -> list[ConfigProblem]:
    if allow_empty and not texts:
        return []
    if not texts.get(default):
        return [ConfigProblem(file, key, f"no text for the default dialect {default!r}")]
    return []


def check(settings: Settings) -> list[ConfigProblem]:
    """Every problem in the config (empty when it is valid); for `ivr check`."""
    try:
        load_config(settings)
    except ConfigError as exc:
        return exc.problems
    return []
