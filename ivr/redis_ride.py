"""Redis commands that ride along in another round trip (a webhook step's BEGIN or COMMIT).

Why: each round trip costs a webhook far more than the commands in it (a socket send and a
wake-up on both sides, plus redis-py's per-call checks). Reads and writes a step needs that are
not guarded by the call's lock (caller preferences, the repeat-caller count) are sent in the same
pipeline as the step's own script instead of one trip each.

Pure: a ride is plain command tuples plus a function reading their replies, so building one needs
no Redis. Rides must be idempotent: a step may send them again (e.g. after a script cache flush).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Ride(Generic[T]):
    """``commands`` as for ``execute_command``; ``read`` turns their replies into a value."""

    commands: tuple[tuple[Any, ...], ...]
    read: Callable[[list[Any]], T]


def constant(value: T) -> Ride[T]:
    """A ride with nothing to send (e.g. caller memory switched off)."""
    return Ride((), lambda _replies: value)


def queue(pipe: Any, rides: Sequence[Ride[Any]]) -> None:
    """Add every ride's commands to ``pipe`` (a redis-py pipeline), in order."""
    for ride in rides:
        for command in ride.commands:
            pipe.execute_command(*command)


def read(replies: Sequence[Any], rides: Sequence[Ride[Any]]) -> list[Any]:
    """Each ride's value from ``replies`` (the pipeline's replies to the rides' commands).

    A reply that is an error (a pipeline run with ``raise_on_error=False``) is raised here, so a
    failed ride fails its step like any Redis error (the failsafe then takes the caller).
    """
    values: list[Any] = []
    at = 0
    for ride in rides:
        mine = list(replies[at:at + len(ride.commands)])
        at += len(ride.commands)
        for reply in mine:
            if isinstance(reply, Exception):
                raise reply
        values.append(ride.read(mine))
    return values
