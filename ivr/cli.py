"""The `ivr` command line. Each area keeps its commands in its own module; they are added here."""

from __future__ import annotations

import logging

import click


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """elder-ivr: a voice IVR for hotlines, built for elderly callers."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# Commands of each area (one line each; keep the imports local to the area's module).
from ivr.service_commands import check, media, serve  # noqa: E402

main.add_command(check)
main.add_command(serve)
main.add_command(media)

from ivr.speech.asr_commands import models, transcribe  # noqa: E402

main.add_command(transcribe)
main.add_command(models)
from ivr.understanding.commands import scam_check, understand  # noqa: E402

main.add_command(understand)
main.add_command(scam_check)
from ivr.understanding.train_command import train  # noqa: E402

main.add_command(train)


from ivr.sim.commands import simulate  # noqa: E402

main.add_command(simulate)
from ivr.routing.commands import agents  # noqa: E402

main.add_command(agents)

from ivr.speech.render_commands import render  # noqa: E402

main.add_command(render)
