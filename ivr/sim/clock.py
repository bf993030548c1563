"""The virtual clock and call log: how "seconds until a human answers" gets measured.

A call's time is what the caller lives through (prompt audio, Gather timeouts, hold music), not
how fast this machine runs. The clock advances by those durations; ``speed`` says how many
virtual seconds pass per real second while the call waits (1.0 = real time for demos, 100 = tests,
``inf`` = jump). Waits are interruptible, so a REST redirect or a key typed in real time lands at
the matching virtual instant.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any


class VirtualClock:
    """Per-call virtual time in seconds since the call started."""

    def __init__(self, speed: float = 100.0):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._t = 0.0
        self._wait: tuple[float, float, float] | None = None  # (t0, real0, target)
        self._lock = threading.Lock()

    @property
    def realtime(self) -> bool:
        return self.speed == 1.0

    def now(self) -> float:
        """Current virtual time; moves smoothly during a wait (media streams pace on it)."""
        with self._lock:
            if self._wait is None:
                return self._t
            t0, real0, target = self._wait
            if math.isinf(self.speed):
                return target
            return min(target, t0 + (time.monotonic() - real0) * self.speed)

    def advance(self, seconds: float) -> None:
        """Move time on without waiting (e.g. measured webhook latency, already spent)."""
        with self._lock:
            self._t += max(0.0, seconds)

    def wait_until(self, target: float, wake: threading.Event | None = None) -> float:
        """Let virtual time run to ``target`` unless ``wake`` is set first; returns the new now."""
        with self._lock:
            t0 = self._t
            if target <= t0:
                return t0
            real0 = time.monotonic()
            self._wait = (t0, real0, target)
        real_timeout = 0.0 if math.isinf(self.speed) else (target - t0) / self.speed
        woke = False
        if wake is not None:
            woke = wake.wait(real_timeout) if real_timeout > 0 else wake.is_set()
        elif real_timeout > 0:
            time.sleep(real_timeout)
        with self._lock:
            if woke and not math.isinf(self.speed):
                elapsed = (time.monotonic() - real0) * self.speed
                self._t = min(target, t0 + elapsed)
            else:
                self._t = target
            self._wait = None
            return self._t


@dataclass
class Event:
    """One timestamped thing that happened on a call (virtual seconds since the call started)."""

    t: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "kind": self.kind, **self.detail}


class CallLog:
    """Append-only event list; an optional listener shows events live (interactive mode)."""

    def __init__(self, clock: VirtualClock, listener=None):
        self.clock = clock
        self.events: list[Event] = []
        self.listener = listener
        self._lock = threading.Lock()

    def add(self, kind: str, /, **detail: Any) -> Event:
        ev = Event(self.clock.now(), kind, detail)
        with self._lock:
            self.events.append(ev)
        if self.listener is not None:
            self.listener(ev)
        return ev

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


def say_seconds(text: str, chars_per_minute: float = 130.0) -> float:
    """How long a TTS voice takes to speak ``text`` (Chinese speech rate is counted in chars)."""
    chars = len("".join(text.split()))
    return chars * 60.0 / chars_per_minute
