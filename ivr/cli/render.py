"""`ivr render`: render every prompt for every dialect and mode ahead of calls, and measure rates.

Admins run it after editing menus or voice profiles; unchanged prompts are skipped by their hash.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ivr.config.errors import ConfigError
from ivr.config.voice_profiles import MODES, VoiceProfiles, load_profiles
from ivr.speech.tts import RenderReport
from ivr.speech.voices import RATE_SAMPLE, VoiceCatalog

PROFILES_FILE = "profiles.yaml"


def menu_prompt_items(console: Console) -> list[tuple[str, str]]:
    """Every sentence of the menu config (``ivr.flow.prompts``); invalid config stops here."""
    from ivr.config.loader import load_config
    from ivr.flow.prompts import all_prompt_texts
    from ivr.settings import Settings

    try:
        return list(all_prompt_texts(load_config(Settings.from_env())))
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/red]", highlight=False)
        sys.exit(2)


def run_render(
    catalog: VoiceCatalog,
    items: Iterable[tuple[str, str]],
    console: Console,
    *,
    modes: Iterable[str] = MODES,
    fragments: bool = True,
) -> RenderReport:
    """Render items (text, dialect) in every mode with a progress bar; print what happened."""
    jobs = catalog.items_for(items, modes=modes, fragments=fragments)
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("render", total=len(jobs))
        report = catalog.renderer.render_many(jobs, lambda _r: progress.advance(task))
        progress.update(task, completed=len(jobs))
    console.print(
        f"rendered {report.rendered}, skipped {report.skipped} (cached or shared), "
        f"failed {report.failed} in {report.seconds:.2f} s -> {catalog.cache_dir}"
    )
    for err in report.errors[:20]:
        console.print(f"[red]failed[/red] {err}")
    return report


def print_rates(catalog: VoiceCatalog, console: Console) -> bool:
    """Measure and print chars/min per profile; True when mandarin elder is in 120-140."""
    table = Table(title="Measured speaking rate (Chinese characters per minute)")
    for col in ("dialect", "mode", "voice", "rate", "chars/min", "target", ""):
        table.add_column(col)
    mandarin_elder_ok = True
    for profile, cpm in catalog.measure_rates(RATE_SAMPLE):
        low, high = profile.target_cpm
        ok = low <= cpm <= high
        if profile.dialect == catalog.profiles.fallback_dialect and profile.mode == "elder":
            mandarin_elder_ok = ok
        table.add_row(profile.dialect, profile.mode, profile.voice, str(profile.rate),
                      f"{cpm:.1f}", f"{low}-{high}", "ok" if ok else "[red]out of range[/red]")
    console.print(table)
    console.print(f"sample: {RATE_SAMPLE}")
    return mandarin_elder_ok


@click.command("render")
@click.option("--text", "texts", multiple=True, help="Extra prompt text (rendered per dialect).")
@click.option("--dialect", "dialects", multiple=True, help="Dialect(s) for --text (default: all).")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES), help="Default: all.")
@click.option("--workers", type=int, default=None, help="Render processes (default: CPU count).")
@click.option("--no-fragments", is_flag=True, help="Skip number/queue fragments.")
@click.option("--no-menus", is_flag=True, help="Skip the menu config's prompts.")
@click.option("--no-rates", is_flag=True, help="Skip measuring the speaking rates.")
def render(texts, dialects, modes, workers, no_fragments, no_menus, no_rates) -> None:
    """Render prompt audio for every dialect and mode into voices/cache/ (git-ignored)."""
    from ivr.settings import Settings
    from ivr.speech import espeak_lib

    console = Console()
    settings = Settings.from_env()
    problem = espeak_lib.status_line()
    if problem:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        sys.exit(1)
    console.print(f"rendering with {espeak_lib.engine().describe()}", highlight=False)
    try:
        profiles = load_profiles(settings.voices_dir / PROFILES_FILE)
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/red]")
        sys.exit(2)
    items = [] if no_menus else menu_prompt_items(console)
    items += text_items(texts, dialects or profiles.dialects, profiles)
    catalog = VoiceCatalog(settings.voices_dir, profiles, workers=workers)
    try:
        report = run_render(catalog, items, console, modes=modes or MODES,
                            fragments=not no_fragments)
        rates_ok = True if no_rates else print_rates(catalog, console)
    finally:
        catalog.close()
    if report.failed:
        sys.exit(1)
    if not rates_ok:
        console.print("[yellow]mandarin elder profile is outside its target range: "
                      "tune its rate in voices/profiles.yaml[/yellow]")


def text_items(texts: Iterable[str], dialects: Iterable[str], profiles: VoiceProfiles):
    """--text options as (text, dialect) pairs; unknown dialects are refused early."""
    dialects = list(dialects)
    unknown = [d for d in dialects if d not in profiles.dialects]
    if unknown:
        raise click.BadParameter(f"unknown dialect(s) {unknown}", param_hint="--dialect")
    return [(t, d) for t in texts for d in dialects]
