"""The `ivr` command line: every command lives in this package, one module per area.

Why here and not in the domain packages: a command wires several areas together (config, speech,
flow...), so keeping commands out of `speech/`, `routing/`... lets those import only downward.
"""

from __future__ import annotations

from ivr.gevent_early import patch_if_serving_with_gevent

patch_if_serving_with_gevent()  # before any import of ssl users (see ivr/gevent_early.py)

import logging  # noqa: E402

import click  # noqa: E402


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """elder-ivr: a voice IVR for hotlines, built for elderly callers."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # twilio's client logs every request's headers at INFO: a reconcile pass was ten lines
    logging.getLogger("twilio.http_client").setLevel(logging.DEBUG if verbose else logging.WARNING)


# One line per area; each module keeps its heavy imports inside the command bodies.
from ivr.cli.agents import agents  # noqa: E402
from ivr.cli.asr import models, transcribe  # noqa: E402
from ivr.cli.render import render  # noqa: E402
from ivr.cli.run import check, media, serve  # noqa: E402
from ivr.cli.simulate import simulate  # noqa: E402
from ivr.cli.train import train  # noqa: E402
from ivr.cli.understand import scam_check, understand  # noqa: E402

for _command in (check, serve, media, transcribe, models, understand, scam_check, train,
                 simulate, agents, render):
    main.add_command(_command)
