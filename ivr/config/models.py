"""Schemas of the service, menu and elder config files (config/ivr.yaml, menus.yaml, elders.yaml).

Every model forbids unknown keys: a typo in an admin's file is an error with its key path, not a
silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.config.queue_phrases import QueuePhrases

KEY_RE = re.compile(r"^[0-9*#]$")
DialectText = dict[str, str]  # dialect id -> user-facing text (Mandarin required)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _key(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError(f"{value!r} is not a phone key (0-9, * or #)")
    return value


Key = Annotated[str, Field(min_length=1, max_length=1)]


# ---------------------------------------------------------------- config/ivr.yaml
class TwilioSettings(Strict):
    api_base: str | None = Field(
        None, description="ignored: the REST base gets the auth token, so it comes only from "
        "the TWILIO_API_BASE environment variable")
    queue_name: str = "hotline"
    caller_id: str = Field("+10000000000", description="Number that places call-backs")
    rest_timeout_seconds: float = Field(
        5.0, gt=0, le=30, description="connect and read timeout of every Twilio REST call"
    )


class Keys(Strict):
    """Keys that mean the same thing in every menu."""

    human: Key = "0"
    repeat: Key = "*"
    slower: Key = "#"

    _check = field_validator("human", "repeat", "slower")(_key)

    @model_validator(mode="after")
    def _distinct(self) -> Keys:
        if len({self.human, self.repeat, self.slower}) != 3:
            raise ValueError("human, repeat and slower keys must differ")
        return self


class DialectOffer(Strict):
    dialect: str
    key: Key

    _check = field_validator("key")(_key)


class DialectSettings(Strict):
    default: str = "mandarin"
    known: dict[str, str] = Field(
        default_factory=lambda: {"mandarin": "普通话"},
        description="dialect id -> display name; grammars/<id>.yaml must exist for each",
    )
    offered: list[DialectOffer] = Field(default_factory=list)
    by_prefix: dict[str, str] = Field(
        default_factory=dict, description="caller number prefix -> default dialect"
    )

    @model_validator(mode="after")
    def _known(self) -> DialectSettings:
        names = set(self.known)
        if self.default not in names:
            raise ValueError(f"default dialect {self.default!r} is not in known")
        for offer in self.offered:
            if offer.dialect not in names:
                raise ValueError(f"offered dialect {offer.dialect!r} is not in known")
        for prefix, dialect in self.by_prefix.items():
            if dialect not in names:
                raise ValueError(f"by_prefix {prefix!r} names unknown dialect {dialect!r}")
        return self


class Timeouts(Strict):
    gather_seconds: int = Field(6, ge=3, le=60)
    max_silences: int = Field(
        1, ge=1, le=5, description="silences in a row before a human (1: the first silence)")
    max_wrong_keys: int = Field(2, ge=1, le=5, description="wrong keys before a human")


class Retention(Strict):
    session_ttl_seconds: int = Field(7200, ge=600)
    caller_memory_days: int = Field(180, ge=0)
    transcript_seconds: int = Field(86400, ge=0, description="how long transcripts are kept")
    audit_days: int = Field(90, ge=1, description="scam audit records older than this are trimmed")
    queue_entry_seconds: int = Field(
        86400, ge=3600, description="a queue entry (with its context) is dropped after this")
    callback_number_seconds: int = Field(
        86400, ge=600, description="a call-back not placed by then is dropped, number and all")


class SpeechSettings(Strict):
    enabled: bool = True
    models: dict[str, str] = Field(
        default_factory=lambda: {"mandarin": "models/vosk-model-small-cn-0.22"},
        description="dialect -> Vosk model folder (relative to the project root)",
    )
    free_form_for_scam: bool = True
    min_intent_score: float | None = Field(None, ge=0, le=1)


class CallbackSettings(Strict):
    """Call-backs go only to numbers that passed caller verification: caller ID is easy to
    spoof, and a spoofed From would make the hotline call (and keep calling) a third party."""

    verified_stir: list[str] = Field(
        default_factory=lambda: ["TN-Validation-Passed-A"],
        description="Twilio StirVerstat values that count as a verified caller number")
    trusted_prefixes: list[str] = Field(
        default_factory=list, description="number prefixes verified by the carrier, e.g. '+86'")
    max_per_number: int = Field(3, ge=1, le=50, description="call-back requests per number...")
    window_seconds: int = Field(86400, ge=60, description="...in this window")

    @field_validator("trusted_prefixes")
    @classmethod
    def _prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.fullmatch(r"\+[0-9]{1,15}", p):
                raise ValueError(f"{p!r} is not a '+digits' number prefix")
        return v


class FailsafeSettings(Strict):
    dial: str | None = Field(None, description="number to <Dial> when Redis is down, else Enqueue")


class CallerWatchSettings(Strict):
    """Repeat callers (complaint flooding) and watch-listed numbers are flagged, never blocked."""

    window_seconds: int = Field(3600, ge=60)
    threshold: int = Field(10, ge=1, description="calls in the window above which a flag is set")
    numbers: list[str] = Field(default_factory=list, description="numbers or their caller keys")


class ServiceConfig(Strict):
    """config/ivr.yaml: how the service reaches Twilio, Redis and callers."""

    hotline_name: str = "长青银行"
    public_url: str | None = Field(None, description="https://host as Twilio sees it")
    media_url: str | None = Field(
        None, description="wss://host/media where Twilio reaches the media process (its own "
        "route on the load balancer); null = the webhook's host, on `ivr serve`'s media port")
    trusted_proxies: list[str] = Field(default_factory=list)
    twilio: TwilioSettings = TwilioSettings()
    redis_url: str | None = Field(None, description="REDIS_URL overrides; none = embedded")
    keys: Keys = Keys()
    dialects: DialectSettings = DialectSettings()
    timeouts: Timeouts = Timeouts()
    retention: Retention = Retention()
    speech: SpeechSettings = SpeechSettings()
    failsafe: FailsafeSettings = FailsafeSettings()
    caller_watch: CallerWatchSettings = CallerWatchSettings()
    callbacks: CallbackSettings = CallbackSettings()

    @field_validator("public_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must start with http:// or https:// and name a host")
        return v.rstrip("/") if v else v

    @field_validator("media_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^wss?://[^/\s]+/\S*", v):
            raise ValueError("must be a ws:// or wss:// URL with a path, e.g. wss://host/media")
        return v


# ---------------------------------------------------------------- config/menus.yaml
class GotoAction(Strict):
    type: Literal["goto"]
    node: str


class InfoAction(Strict):
    """Say an information prompt, then return to a node (default: the same menu)."""

    type: Literal["info"]
    text: DialectText
    then: str | None = None


class TransferAction(Strict):
    type: Literal["transfer"]
    reason: str
    skill: str | None = Field(None, description="topic skill; the dialect skill is added")


class HangupAction(Strict):
    """Only ever reached by a caller's explicit choice to leave."""

    type: Literal["hangup"]
    goodbye: DialectText


Action = Annotated[
    GotoAction | InfoAction | TransferAction | HangupAction, Field(discriminator="type")
]


class MenuOption(Strict):
    key: Key
    label: DialectText
    intent: str | None = Field(None, description="grammar intent that chooses this by voice")
    action: Action

    _check = field_validator("key")(_key)


class MenuNode(Strict):
    intro: DialectText = Field(default_factory=dict)
    options: list[MenuOption] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> MenuNode:
        keys = [o.key for o in self.options]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"key {sorted(dup)[0]!r} is used by two options")
        return self


class Phrases(Strict):
    """Sentence templates per dialect used to compose prompts."""

    greeting: DialectText
    human_first: DialectText = Field(description="the human option, said first in every menu")
    option: DialectText = Field(description="template with {label} and {key}")
    dialect_offer: DialectText = Field(description="template with {name} and {key}")
    elder_offer: DialectText = Field(description="template with {key}")
    controls: DialectText = Field(description="how to repeat and slow down; said once per call")
    human_speech: DialectText = Field(
        default_factory=dict, description="said right after the human option: say \"人工\"")
    not_understood: DialectText
    silence: DialectText
    transfer: DialectText
    silence_transfer: DialectText = Field(
        default_factory=dict, description="a silent caller is told a person is coming")
    elder_direct: DialectText
    failsafe: DialectText
    queue: QueuePhrases = Field(default_factory=lambda: QueuePhrases())


class MenuLimits(Strict):
    """What a caller's time allows: the engine keeps the choices, `ivr check` the seconds."""

    first_menu_choices: int = Field(
        4, ge=1, le=9, description="choices said in the first menu (besides the human option); "
        "elder and dialect offers beyond it are not said (their keys still work)")
    first_menu_seconds: float = Field(15, gt=0, description="greeting + first menu, normal rate")
    first_menu_seconds_elder: float = Field(20, gt=0, description="the same at the elder rate")
    human_option_by_seconds: float = Field(
        8, gt=0, description="the human option has been said by then, in every voice mode")


class MenuConfig(Strict):
    """config/menus.yaml: the menu tree, by node id."""

    root: str
    nodes: dict[str, MenuNode]
    phrases: Phrases
    limits: MenuLimits = MenuLimits()

    @model_validator(mode="after")
    def _links(self) -> MenuConfig:
        if self.root not in self.nodes:
            raise ValueError(f"root {self.root!r} is not a node")
        for node_id, node in self.nodes.items():
            for i, opt in enumerate(node.options):
                target = getattr(opt.action, "node", None) or getattr(opt.action, "then", None)
                if target is not None and target not in self.nodes:
                    raise ValueError(
                        f"nodes.{node_id}.options.{i}.action names unknown node {target!r}"
                    )
        return self


# ---------------------------------------------------------------- config/elders.yaml
class ElderProfile(Strict):
    voice_mode: Literal["elder", "elder_slower"] = "elder"
    gather_timeout_seconds: int = Field(10, ge=8, le=60)
    max_options: int = Field(3, ge=1, le=3)


class ElderConfig(Strict):
    """config/elders.yaml: who counts as elderly and what they get."""

    policy: Literal["direct", "offer"] = Field(
        "direct", description="direct: greeting then a human, zero keys; offer: any key = human"
    )
    self_identify_key: Key | None = "9"
    numbers: list[str] = Field(default_factory=list)
    lines: list[str] = Field(
        default_factory=list, description="numbers callers dial for the elder line (the To "
        "number); a caller there who presses nothing gets the elder policy")
    lookup_hook: str | None = Field(
        None, description="'hooks.module:function' taking the caller number, returning True"
    )
    hook_packages: list[str] = Field(
        default_factory=lambda: ["hooks"],
        description="packages the hook may come from; 'hooks' is the deployment's hooks/ folder",
    )
    lookup_timeout_seconds: float = Field(1.0, gt=0, le=5,
                                          description="a slower hook counts as 'not elderly'")
    profile: ElderProfile = ElderProfile()

    @field_validator("numbers", "lines")
    @classmethod
    def _numbers(cls, v: list[str]) -> list[str]:
        for n in v:
            if not re.match(r"^\+?[0-9]{5,16}$", n):
                raise ValueError(f"{n!r} is not a phone number (E.164 digits)")
        return v

    @field_validator("lookup_hook")
    @classmethod
    def _hook(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", v, re.ASCII):
            raise ValueError("must be 'package.module:function'")
        return v

    @field_validator("hook_packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", p, re.ASCII):
                raise ValueError(f"{p!r} is not a package name")
        return v


def text_for(texts: DialectText, dialect: str, default: str = "mandarin") -> str:
    """The text in the caller's dialect, else Mandarin (the default), else any."""
    return texts.get(dialect) or texts.get(default) or next(iter(texts.values()), "")


def model_dump_plain(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
