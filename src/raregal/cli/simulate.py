"""``raregal simulate``: write a simulated survey with planted rare classes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli.app import app
from raregal.errors import InputError
from raregal.simulate.classes import ARTIFACT_CLASSES, RARE_CLASSES
from raregal.simulate.presets import DEFAULT_PRESET, PRESET_NAMES

_FRACTION_HELP = (
    "Per-class fraction CLASS=F, repeatable, e.g. --fraction ring=0.01. Classes: "
    + ", ".join(RARE_CLASSES + ARTIFACT_CLASSES)
    + "."
)


def parse_fractions(items: list[str] | None) -> dict[str, float]:
    """Per-class fractions from ``CLASS=FRACTION`` strings."""
    fractions: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            fractions[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--fraction expects CLASS=FRACTION, e.g. ring=0.01; got {item!r}")
    return fractions


@app.command("simulate")
def simulate_cli(
    out: Annotated[Path, typer.Option("--out", "-o", help="Survey folder to write.")],
    n: Annotated[int, typer.Option("--n", help="Number of galaxies.")] = 20000,
    seed: Annotated[int, typer.Option(help="Seed: equal seeds give equal bytes.")] = 0,
    size: Annotated[int, typer.Option(help="Cutout side in pixels.")] = 128,
    image_format: Annotated[
        str, typer.Option("--format", help="png (RGB) or fits (g, r, z cube).")
    ] = "png",
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: every core).")
    ] = None,
    rare_fraction: Annotated[float, typer.Option(help="Fraction of each rare class.")] = 0.005,
    artifact_fraction: Annotated[
        float, typer.Option(help="Fraction of each artifact class.")
    ] = 0.005,
    fraction: Annotated[
        list[str] | None,
        typer.Option(help=_FRACTION_HELP),
    ] = None,
    preset: Annotated[
        str,
        typer.Option(help=f"How the survey looks: {', '.join(PRESET_NAMES)} (mixed: per galaxy)."),
    ] = DEFAULT_PRESET,
    chunk_size: Annotated[int, typer.Option(help="Galaxies per part (unit of resuming).")] = 200,
    overwrite: Annotated[bool, typer.Option(help="Replace another survey in --out.")] = False,
    contact: Annotated[bool, typer.Option(help="Write contact sheets per class.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Simulate a survey: cutouts, catalog.parquet with votes, and a contact sheet per class."""
    from raregal.simulate import simulate_survey

    catalog = simulate_survey(
        out,
        n=n,
        seed=seed,
        size=size,
        image_format=image_format,
        rare_fraction=rare_fraction,
        artifact_fraction=artifact_fraction,
        fractions=parse_fractions(fraction),
        workers=workers,
        chunk_size=chunk_size,
        overwrite=overwrite,
        contact_sheets=contact,
        progress=progress,
        preset=preset,
    )
    typer.echo(f"wrote {catalog}")
