"""`ivr simulate call | run | load`: place simulated Twilio calls against a running app."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.console import Console

from ivr.settings import DEV_API_BASE, DEV_TOKEN_FILE, _dev_secret
from ivr.sim.config import SimConfig
from ivr.sim.simulator import Simulator

DEFAULT_REST_PORT = urlsplit(DEV_API_BASE).port or 5099


def _default_token() -> str:
    """Same rule as the app: env TWILIO_AUTH_TOKEN, else the dev token kept in var/."""
    if os.environ.get("TWILIO_AUTH_TOKEN"):
        return os.environ["TWILIO_AUTH_TOKEN"]
    root = Path(os.environ.get("IVR_ROOT") or Path.cwd())
    var = Path(os.environ.get("IVR_VAR_DIR") or root / "var")
    return _dev_secret(var, DEV_TOKEN_FILE)


def common_options(fn):
    @click.option("--url", "app_base", default="http://127.0.0.1:5000", show_default=True,
                  help="Base URL of the app (Voice URL is <url>/voice/incoming).")
    @click.option("--token", default=None, help="Auth token (default: env TWILIO_AUTH_TOKEN, "
                  "else var/dev_auth_token).")
    @click.option("--account-sid", default=None, help="Default: env TWILIO_ACCOUNT_SID.")
    @click.option("--rest-port", default=DEFAULT_REST_PORT, show_default=True, type=int,
                  help="Port of the local Twilio REST stand-in (the app's TWILIO_API_BASE).")
    @click.option("--speed", default=None, type=float,
                  help="Virtual seconds per real second while waiting (1 = real time).")
    @click.option("--cpm", default=130.0, show_default=True, help="<Say> characters/minute.")
    @click.option("--say-audio", is_flag=True, help="Time <Say> by espeak-ng audio instead.")
    @click.option("--status-path", default="/voice/status", show_default=True,
                  help="Status callback path on the app ('' for none).")
    @click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _config(kw: dict, default_speed: float) -> SimConfig:
    return SimConfig(
        app_base=kw["app_base"].rstrip("/"),
        auth_token=kw["token"] or _default_token(),
        account_sid=kw["account_sid"] or os.environ.get("TWILIO_ACCOUNT_SID")
        or SimConfig.account_sid,
        speed=kw["speed"] if kw["speed"] is not None else default_speed,
        chars_per_minute=kw["cpm"], say_audio=kw["say_audio"],
        status_path=kw["status_path"] or None,
    )


@click.group()
def simulate() -> None:
    """A local Twilio stand-in: place calls against the app without a Twilio account."""


@simulate.command("call")
@common_options
@click.option("--interactive/--silent", default=True, help="Keyboard caller, or a silent one.")
@click.option("--from", "from_", default="+8613800000000", show_default=True)
def call_cmd(interactive: bool, from_: str, **kw) -> None:
    """One call; the terminal shows what the caller hears, typed keys are pressed."""
    from ivr.sim.caller import Caller
    from ivr.sim.interactive import run_interactive, show_event

    console = Console()
    sim = Simulator(_config(kw, 1.0 if interactive else 100.0), rest_port=kw["rest_port"])
    try:
        if interactive:
            result = run_interactive(sim, from_, console)
        else:
            sim.listener = lambda ev: show_event(console, ev)
            caller = Caller()
            caller.number = from_
            result = sim.place_call(caller)
    finally:
        sim.close()
    out = {"call_sid": result.call_sid, "ended_by": result.ended_by,
           "duration": round(result.duration, 2),
           "seconds_to_queue": result.enqueued_at, "seconds_to_agent": result.bridged_at,
           "errors": result.errors}
    console.print_json(json.dumps(out, ensure_ascii=False)) if kw["as_json"] else console.print(
        out)


@simulate.command("run")
@common_options
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--events", is_flag=True, help="Show every call event as it happens.")
def run_cmd(scenarios: tuple[str, ...], events: bool, **kw) -> None:
    """Run scripted scenario files; exit 1 if any expectation fails."""
    from ivr.sim.interactive import show_event
    from ivr.sim.scenario import Scenario, run_scenario

    console = Console()
    sim = Simulator(_config(kw, 100.0), rest_port=kw["rest_port"])
    if events:
        sim.listener = lambda ev: show_event(console, ev)
    failed = 0
    try:
        for path in scenarios:
            report = run_scenario(sim, Scenario.load(path))
            summary = report.summary()
            failed += not report.passed
            if kw["as_json"]:
                print(json.dumps(summary, ensure_ascii=False))
                continue
            mark = "[green]PASS[/green]" if report.passed else "[red]FAIL[/red]"
            console.print(f"{mark} {report.name}: to queue {summary['seconds_to_queue']} s, "
                          f"to agent {summary['seconds_to_agent']} s, ended by "
                          f"{summary['ended_by']} after {summary['duration']} s")
            for f in report.failures:
                console.print(f"   [red]- {f}[/red]")
    finally:
        sim.close()
    sys.exit(1 if failed else 0)


@simulate.command("load")
@common_options
@click.argument("scenario", type=click.Path(exists=True))
@click.option("-n", "calls", default=50, show_default=True, help="Number of calls.")
@click.option("-c", "concurrency", default=8, show_default=True, help="Calls at once.")
@click.option("--same-caller", is_flag=True, help="Every call from the scenario's number.")
def load_cmd(scenario: str, calls: int, concurrency: int, same_caller: bool, **kw) -> None:
    """N concurrent scripted calls: completed, errors, seconds-to-human, webhook latency."""
    from ivr.sim.load import run_load
    from ivr.sim.scenario import Scenario

    console = Console(stderr=True)
    sim = Simulator(_config(kw, 100.0), rest_port=kw["rest_port"])
    try:
        report = run_load(sim, Scenario.load(scenario), calls, concurrency,
                          unique_callers=not same_caller,
                          progress=lambda done, total: console.print(
                              f"\r{done}/{total}", end="") if done % 10 == 0 else None)
    finally:
        sim.close()
    console.print()
    summary = report.summary()
    if kw["as_json"]:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        Console().print(summary)
    sys.exit(0 if report.completed == calls else 1)
