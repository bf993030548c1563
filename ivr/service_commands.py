"""`ivr check` and `ivr serve`: validate the admin files; run the service."""

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
    console.print("config OK", style="green")


@click.command()
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=16, show_default=True, help="threads per worker")
def serve(bind: str, workers: int, threads: int) -> None:
    """Run the service under gunicorn. Refuses to start on invalid config."""
    from ivr.config.loader import check as check_config
    from ivr.serve import run
    from ivr.settings import Settings

    problems = check_config(Settings.from_env())
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        click.echo("refusing to start: fix the config (see `ivr check`)", err=True)
        sys.exit(1)
    run(bind, workers, threads)
