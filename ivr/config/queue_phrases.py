"""What callers hear while they wait for a person: config/menus.yaml ``phrases.queue``.

Why a file of its own: the sentences are admin-editable text like every other phrase, with these
defaults for a menus.yaml that predates them; the queue routes (``ivr.telephony.queue_routes``)
read them from the running config.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DialectText = dict[str, str]  # dialect id -> user-facing text (Mandarin required)


# Defaults of config/menus.yaml phrases.queue (Mandarin is the fallback).
QUEUE_SENTENCES: dict[str, DialectText] = {
    "patience": {
        "mandarin": "请不要挂机，工作人员会尽快为您服务。",
        "cantonese": "请唔好收线，职员会尽快为你服务。",
    },
    "waiting": {
        "mandarin": "请稍候，工作人员会尽快为您服务。",
        "cantonese": "请稍等，职员会尽快为你服务。",
    },
    "callback_offer": {
        "mandarin": "按1保留排队位置，稍后给您回电。",
        "cantonese": "按1保留排队位置，稍后回电畀你。",
    },
    "callback_ok": {
        "mandarin": "好的，已为您保留排队位置，轮到您时我们会给您回电。再见。",
        "cantonese": "好，已经为你保留排队位置，轮到你嘅时候我哋会回电畀你。再见。",
    },
    "keep_waiting": {"mandarin": "好的，请继续等待。", "cantonese": "好，请继续等。"},
    "connecting": {
        "mandarin": "正在为您接通人工服务，请稍候。",
        "cantonese": "而家为你接通人工服务，请稍等。",
    },
    "callback_greeting": {
        "mandarin": "您好，这里是客服热线，给您回电。正在为您接通工作人员，请稍候。",
        "cantonese": "你好，呢度系客服热线，而家回电畀你，为你接通职员，请稍等。",
    },
    "agent_missed": {
        "mandarin": "工作人员暂时未能接听，已为您保留原来的排队位置。",
        "cantonese": "职员暂时未能接听，已经为你保留原来嘅排队位置。",
    },
    "callback_later": {
        "mandarin": "工作人员暂时未能接听，我们稍后再给您回电。再见。",
        "cantonese": "职员暂时未能接听，我哋稍后再回电畀你。再见。",
    },
    "sorry": {
        "mandarin": "抱歉，系统繁忙，请稍后再拨。",
        "cantonese": "对唔住，系统繁忙，请稍后再打嚟。",
    },
}


def _queue_sentence(name: str, description: str) -> Any:
    return Field(default_factory=lambda: dict(QUEUE_SENTENCES[name]), description=description)


class QueuePhrases(BaseModel):
    """What callers hear while they wait for a person (``ivr.telephony.queue_routes``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patience: DialectText = _queue_sentence("patience", "after the position and estimate")
    waiting: DialectText = _queue_sentence("waiting", "while the position is unknown")
    callback_offer: DialectText = _queue_sentence("callback_offer", "the call-back offer (key 1)")
    callback_ok: DialectText = _queue_sentence("callback_ok", "the call-back is booked")
    keep_waiting: DialectText = _queue_sentence("keep_waiting", "no call-back: keep holding")
    connecting: DialectText = _queue_sentence("connecting", "right before the agent's phone rings")
    callback_greeting: DialectText = _queue_sentence("callback_greeting", "a call-back, answered")
    agent_missed: DialectText = _queue_sentence("agent_missed", "no answer from the agent")
    callback_later: DialectText = _queue_sentence("callback_later", "no answer on a call-back")
    sorry: DialectText = _queue_sentence("sorry", "Twilio's queue refused the caller too often")
