"""`ivr check`, `ivr serve`, `ivr media`: validate the admin files; run the service."""

from __future__ import annotations

import sys

import click
from rich.console import Console


@click.command()
def check() -> None:
    """Validate config/, grammars/ and voices/; print every problem as file: key: reason."""
    from ivr.config.loader import check as check_config
    from ivr.settings import Settings

    console = Console(stderr=True)
    problems = check_config(Settings.from_env())
    if problems:
        for p in problems:
            console.print(f"[red]{p.file}[/red]: [bold]{p.key or '<file>'}[/bold]: {p.reason}",
                          highlight=False)
        console.print(f"{len(problems)} problem(s) found", style="red")
        sys.exit(1)
    warnings = menu_timing_warnings(Settings.from_env())
    for w in warnings:
        console.print(f"[yellow]warning[/yellow] {w}", highlight=False, soft_wrap=True)
    console.print("config OK" + (f" ({len(warnings)} warning(s))" if warnings else ""),
                  style="green")


def menu_timing_warnings(settings) -> list:
    """Menus longer than config/menus.yaml `limits`, timed on the rendered prompts (or the
    measured speaking rate where a prompt is not rendered yet)."""
    from ivr.config.loader import load_config
    from ivr.flow.engine import FlowConfig
    from ivr.flow.timing import timing_warnings
    from ivr.speech.voices import VoiceCatalog

    config = load_config(settings)
    voices = VoiceCatalog(settings.voices_dir, config.voices)
    try:
        cfg = FlowConfig(service=config.service, menus=config.menus, elders=config.elders)
        return timing_warnings(cfg, voices.speech_seconds)
    finally:
        voices.close()


def _refuse_bad_config(bind: str | None = None, console: bool = True) -> None:
    """Exit 1 on invalid config, and (``ivr.startup_checks``) with a real TWILIO_AUTH_TOKEN
    but no public URL, or agents with documented demo passwords; print warnings."""
    import os

    from ivr.config.errors import ConfigError
    from ivr.config.loader import load_config
    from ivr.settings import Settings
    from ivr.startup_checks import startup_problems

    settings = Settings.from_env()
    if bind and settings.dev_mode and not os.environ.get("IVR_DEV_PUBLIC_URL"):
        # dev mode: the stand-in reaches us on loopback at the port we bind (children inherit it)
        os.environ["IVR_DEV_PUBLIC_URL"] = dev_public_url(bind)
        settings = Settings.from_env()
    try:
        config = load_config(settings)
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        click.echo("refusing to start: fix the config (see `ivr check`)", err=True)
        sys.exit(1)
    errors, warnings = startup_problems(settings, config, console=console)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    if errors:
        for e in errors:
            click.echo(f"error: {e}", err=True)
        click.echo("refusing to start", err=True)
        sys.exit(1)
    if settings.dev_mode and console:
        click.echo("dev mode (no TWILIO_AUTH_TOKEN): local stand-in only, demo agents allowed",
                   err=True)


def dev_public_url(bind: str) -> str:
    """http://127.0.0.1:<port of --bind> (a loopback address whatever the bind host)."""
    port = bind.rsplit(":", 1)[-1] if ":" in bind else "8000"
    return f"http://127.0.0.1:{port}" if port.isdigit() else "http://127.0.0.1:5000"


@click.command()
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", type=int, default=None,
              help="gunicorn worker processes [default: CPU count, at least 2]")
@click.option("--threads", type=int, default=None,
              help="threads per worker, gthread only [default: 4 x CPU count]")
@click.option("--worker-class", type=click.Choice(["gevent", "gthread"]), default="gevent",
              show_default=True, help="gevent: idle and slow clients cost a greenlet, not a thread")
@click.option("--connections", default=1000, show_default=True,
              help="open connections per gevent worker")
@click.option("--media-bind", default=None,
              help="where the media process listens [default: the --bind host, port + 1]")
@click.option("--media-workers", type=int, default=None,
              help="decoder threads of the media process [default: 2 x CPU count]")
@click.option("--media-processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="media processes sharing the media port (one asyncio loop each; a box past "
                   "~200 streams per core wants more than one)")
@click.option("--no-media", is_flag=True, help="do not start a media process (run it elsewhere)")
def serve(bind: str, workers: int | None, threads: int | None, worker_class: str,
          connections: int, media_bind: str | None, media_workers: int | None,
          media_processes: int, no_media: bool) -> None:
    """Run the service: gunicorn for webhooks and, beside it, the media-stream process.

    Refuses to start on invalid config, and (with a real TWILIO_AUTH_TOKEN) without a public URL
    or with demo agent passwords.
    """
    from ivr.serve import ServeOptions, busy_addresses, run

    options = ServeOptions.from_cli(bind, workers, threads, worker_class, connections,
                                    media_bind, media_workers, not no_media, media_processes)
    _refuse_bad_config(bind)  # first: what is wrong with the setup matters more than a port
    busy = busy_addresses(options.bind, options.media_bind)
    if busy:
        click.echo(f"refusing to start: {', '.join(busy)} already in use (another `ivr serve`?); "
                   "stop it or choose --bind / --media-bind", err=True)
        sys.exit(1)
    run(options)


@click.command()
@click.option("--bind", default="127.0.0.1:5001", show_default=True)
@click.option("--workers", type=int, default=None,
              help="decoder threads [default: 2 x CPU count]")
@click.option("--webhook-base", default=None,
              help="dev mode only (no TWILIO_AUTH_TOKEN): base URL of the webhooks for REST "
                   "redirects; otherwise IVR_PUBLIC_URL or config public_url is used")
@click.option("--reuse-port", is_flag=True,
              help="share --bind with other media processes (SO_REUSEPORT; `ivr serve "
                   "--media-processes` uses it)")
def media(bind: str, workers: int | None, webhook_base: str | None, reuse_port: bool) -> None:
    """Run the media-stream process alone (Twilio <Stream> sockets, voice gate, Vosk)."""
    import os

    from ivr.media.process import run

    if webhook_base and not os.environ.get("IVR_DEV_PUBLIC_URL"):
        # dev mode only; with a real token REST redirects go to IVR_PUBLIC_URL / public_url
        os.environ["IVR_DEV_PUBLIC_URL"] = webhook_base
    _refuse_bad_config(console=False)
    host, _, port = bind.rpartition(":")
    run(host or "127.0.0.1", int(port), webhook_base, workers, reuse_port)
