"""`python -m ivr` runs the CLI."""

from ivr.cli import main

main()
