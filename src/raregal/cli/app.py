"""The typer application that every command module registers with."""

from __future__ import annotations

import logging

import typer

app = typer.Typer(
    name="raregal",
    help="Find rare classes of galaxies in the representations of pretrained galaxy models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr at INFO (or DEBUG with --verbose)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
