"""Interactive mode: a person at the terminal is the caller.

The terminal shows what the caller hears (Say text, Play files with their length, Gather waiting
for keys); typed lines are keys (``0``, ``12#``), ``say FILE.wav`` speaks a clip into the call's
media streams, ``hangup`` ends the call. Runs in real time by default so there is time to type.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

from rich.console import Console

from ivr.sim.call import CallResult, SimCall
from ivr.sim.caller import Caller, Opportunity
from ivr.sim.clock import Event
from ivr.sim.simulator import Simulator

_KEYS = set("0123456789*#")
_QUIET = {"dtmf", "caller_step", "stream_mark"}


class TerminalCaller(Caller):
    """Prints the moments the caller could act; input comes from the keyboard thread."""

    def __init__(self, number: str, console: Console):
        self.number = number
        self.console = console

    def on_opportunity(self, call: SimCall, opp: Opportunity) -> None:
        hints = {
            "gather": "type keys then Enter (e.g. 0 or 12#)",
            "record": "say FILE.wav to speak, a key to finish",
            "enqueue": "you are in the queue; 'hangup' to give up",
            "connect": "connected to a media stream; keys go as dtmf",
        }
        if opp.kind in hints:
            self.console.print(f"[dim]   ({hints[opp.kind]})[/dim]")


def show_event(console: Console, ev: Event) -> None:
    """One line per thing the caller hears or that happens to the call."""
    d, t = ev.detail, f"[cyan]{ev.t:7.1f}s[/cyan]"
    if ev.kind in _QUIET:
        return
    if ev.kind == "say":
        console.print(f"{t} [bold]SAY[/bold] {d['text']}  [dim]({d['seconds']:.1f}s)[/dim]")
    elif ev.kind == "play":
        console.print(f"{t} [bold]PLAY[/bold] {d['url']}  [dim]({d['seconds']:.1f}s)[/dim]")
    elif ev.kind == "gather":
        console.print(f"{t} [yellow]waiting for keys[/yellow] (timeout {d['timeout']:.0f}s "
                      f"after the prompts, finishOnKey {d['finish_on_key']!r})")
    elif ev.kind in ("enqueued", "bridged", "left_queue", "call_end", "rest_applied"):
        console.print(f"{t} [green]{ev.kind.upper()}[/green] {d}")
    elif ev.kind == "error":
        console.print(f"{t} [red]ERROR[/red] {d['message']}")
    elif ev.kind in ("webhook", "status_callback", "enqueue_action", "dial_action"):
        console.print(f"{t} [dim]{d['method']} {d['url']} -> {d['status']} "
                      f"({d['ms']} ms)[/dim]")
    else:
        console.print(f"{t} [dim]{ev.kind} {d if d else ''}[/dim]")


def run_interactive(sim: Simulator, number: str, console: Console | None = None,
                    stdin: TextIO | None = None, digit_gap: float = 0.3) -> CallResult:
    """Place one call driven from the keyboard; returns when the call ends."""
    console = console or Console()
    stdin = stdin or sys.stdin
    sim.listener = lambda ev: show_event(console, ev)
    call = sim.start_call(TerminalCaller(number, console))
    console.print(f"[bold]Calling {call.to} from {number}[/bold] (call {call.sid}). "
                  "Keys + Enter, 'say FILE.wav', 'hangup'.")

    def keyboard() -> None:
        for line in stdin:
            if call.done.is_set():
                return
            cmd = line.strip()
            if not cmd:
                continue
            if cmd in ("hangup", "quit", "exit"):
                call.schedule_hangup()
                return
            if cmd.startswith("say "):
                path = Path(cmd[4:].strip()).expanduser()
                if not path.exists():
                    console.print(f"[red]no such file: {path}[/red]")
                    continue
                call.schedule_audio(path)
            elif set(cmd) <= _KEYS:
                now = call.clock.now()
                for i, key in enumerate(cmd):
                    call.schedule_digit(key, now + i * digit_gap)
            else:
                console.print("[red]type keys (0-9 * #), 'say FILE.wav' or 'hangup'[/red]")

    threading.Thread(target=keyboard, daemon=True, name="keyboard").start()
    call.done.wait()
    assert call.result is not None
    return call.result
