"""`ivr transcribe` and `ivr models ...`: speech from the command line.

`transcribe` sends a WAV file down exactly the path a phone call takes (resampled to 8 kHz,
mu-law, 20 ms frames, a speech session with the same recognizers), so what it prints is what the
IVR would hear.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import click

from ivr.speech import codec
from ivr.speech.model_files import (
    DEFAULT_MODEL,
    REGISTRY,
    ModelFetchError,
    fetch,
    is_model_dir,
    models_dir,
)


def default_model_dir() -> Path:
    """``IVR_ZH_MODEL`` if set, else ``models/vosk-model-small-cn-0.22``."""
    return Path(os.environ.get("IVR_ZH_MODEL") or models_dir() / DEFAULT_MODEL)


@click.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Vosk model folder (default: IVR_ZH_MODEL or models/vosk-model-small-cn-0.22).")
@click.option("--grammar", help="Comma-separated phrases: restrict recognition to them.")
@click.option("--partials/--no-partials", default=False, help="Also print partial results.")
def transcribe(wav: Path, model_dir: Path | None, grammar: str | None, partials: bool) -> None:
    """Transcribe WAV (any rate) through the 8 kHz mu-law path of a phone call."""
    from ivr.speech.asr import SpeechService

    model_dir = model_dir or default_model_dir()
    if not is_model_dir(model_dir):
        raise click.ClickException(
            f"no Vosk model at {model_dir}; run `ivr models fetch` or pass --model DIR"
        )
    phrases = [p.strip() for p in grammar.split(",") if p.strip()] if grammar else None
    pcm, rate = codec.read_wav_mono16(wav)
    ulaw = codec.to_telephone_ulaw(pcm, rate)
    ulaw += b"\xff" * (-len(ulaw) % codec.FRAME_BYTES)
    lock = threading.Lock()

    def sink(call_sid: str, text: str, final: bool, restricted: bool) -> None:
        if final or partials:
            with lock:
                click.echo(f"{'final' if final else 'partial'}\t{text}")

    service = SpeechService({"file": model_dir}, default_dialect="file",
                            grammar_for=(lambda _sid: phrases) if phrases else None)
    session = service.open("CLI" + wav.stem, sink)
    session.feed(ulaw, block=True)  # offline: wait for the decoder rather than drop frames
    service.close(session)


@click.group()
def models() -> None:
    """Speech models: list known ones, fetch them (with SHA-256 check)."""


@models.command("list")
@click.option("--dir", "dest", type=click.Path(file_okay=False, path_type=Path))
def list_models(dest: Path | None) -> None:
    """Known models and whether each is installed."""
    from rich.console import Console
    from rich.table import Table

    dest = dest or models_dir()
    table = Table("model", "language", "zip size", "sha256 recorded", "installed")
    for info in REGISTRY.values():
        table.add_row(
            info.name, info.language, f"{info.size:,}" if info.size else "?",
            "yes" if info.sha256 else "no",
            str(dest / info.name) if is_model_dir(dest / info.name) else "-",
        )
    Console().print(table)


@models.command("fetch")
@click.argument("name", default=DEFAULT_MODEL)
@click.option("--dir", "dest", type=click.Path(file_okay=False, path_type=Path),
              help="Destination (default: IVR_MODELS_DIR or ./models).")
@click.option("--url", help="Download from this URL instead (a mirror).")
@click.option("--sha256", help="Expected SHA-256 of the zip (overrides the registry).")
@click.option("--allow-unverified", is_flag=True, help="Accept a model with no known checksum.")
@click.option("--force", is_flag=True, help="Download again even if present.")
def fetch_model(name: str, dest: Path | None, url: str | None, sha256: str | None,
                allow_unverified: bool, force: bool) -> None:
    """Download NAME (default vosk-model-small-cn-0.22), verify its SHA-256, unpack it."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    dest = dest or models_dir()
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(),
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(name, total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            path = fetch(name, dest, url, sha256=sha256, allow_unverified=allow_unverified,
                         force=force, progress=progress)
        except ModelFetchError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{name} ready at {path}")
