"""The person on the phone: silent, scripted (a scenario), or typing at a terminal.

The interpreter offers the caller "opportunities" (a Gather, a Record, the queue, a bidirectional
stream); the caller answers by scheduling digits, audio or a hang-up at virtual times. Scheduling
ahead keeps scripted runs deterministic on the virtual clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivr.sim.call import SimCall


@dataclass
class Opportunity:
    kind: str  # gather | record | enqueue | connect | dial
    start: float  # virtual time it began
    prompt_seconds: float = 0.0  # Gather: length of the nested prompts
    info: dict[str, Any] = field(default_factory=dict)


class Caller:
    """Base caller: stays silent, never hangs up (the call ends by itself or at max duration)."""

    number = "+8613800000000"

    def on_start(self, call: SimCall) -> None:
        """Called once the call is placed."""

    def on_opportunity(self, call: SimCall, opp: Opportunity) -> None:
        """Called when the caller could act; schedule input on ``call``."""


@dataclass
class Step:
    """One scripted action. ``when`` is "input" (next Gather/Record/Connect) or "queue"."""

    press: str | None = None
    say: str | None = None
    hangup: bool = False
    silent: bool = False
    after: float = 1.0
    barge_in: bool = False
    when: str = "input"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Step:
        allowed = {"press", "say", "hangup", "silent", "after", "barge_in", "when"}
        unknown = set(raw) - allowed
        if unknown:
            raise ValueError(f"unknown step keys {sorted(unknown)} in {raw}")
        step = cls(
            press=str(raw["press"]) if "press" in raw else None,
            say=raw.get("say"),
            hangup=bool(raw.get("hangup", False)),
            silent=bool(raw.get("silent", False)),
            after=float(raw.get("after", 1.0)),
            barge_in=bool(raw.get("barge_in", False)),
            when=raw.get("when", "input"),
        )
        if sum(x is not None and x is not False for x in
               (step.press, step.say, step.hangup or None, step.silent or None)) != 1:
            raise ValueError(f"a step needs exactly one of press/say/hangup/silent: {raw}")
        if step.when not in ("input", "queue"):
            raise ValueError(f"step 'when' must be input or queue: {raw}")
        return step


class ScriptedCaller(Caller):
    """Follows a list of steps; each input opportunity consumes the next step (if it fits)."""

    def __init__(self, number: str, steps: list[Step], hangup_after: float | None = None,
                 base_dir: Path | None = None, digit_gap: float = 0.3):
        self.number = number
        self.steps = list(steps)
        self.hangup_after = hangup_after
        self.base_dir = base_dir or Path.cwd()
        self.digit_gap = digit_gap

    def on_start(self, call: SimCall) -> None:
        if self.hangup_after is not None:
            call.schedule_hangup(self.hangup_after)

    def on_opportunity(self, call: SimCall, opp: Opportunity) -> None:
        if opp.kind == "enqueue":  # the first queue step, even if input steps are left over
            step = next((s for s in self.steps if s.when == "queue"), None)
        elif opp.kind == "dial" or not self.steps or self.steps[0].when != "input":
            return
        else:
            step = self.steps[0]
        if step is None:
            return
        self.steps.remove(step)
        base = opp.start if step.barge_in or opp.kind != "gather" else (
            opp.start + opp.prompt_seconds)
        at = base + step.after
        if step.press is not None:
            for i, digit in enumerate(step.press):
                call.schedule_digit(digit, at + i * self.digit_gap)
        elif step.say is not None:
            path = Path(step.say)
            call.schedule_audio(path if path.is_absolute() else self.base_dir / path, at)
        elif step.hangup:
            call.schedule_hangup(at)
        call.log.add("caller_step", step=_describe(step), at=round(at, 3))


def _describe(step: Step) -> str:
    if step.press is not None:
        return f"press {step.press}"
    if step.say is not None:
        return f"say {step.say}"
    return "hangup" if step.hangup else "silent"
