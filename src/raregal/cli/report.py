"""``raregal report``: write the report folder of a finished run (opens from disk, no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli.app import app


@app.command("report")
def report_cli(
    run: Annotated[
        Path, typer.Argument(help="Run folder (galaxies, clusters, condensed_tree tables).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder (default: RUN/report).")
    ] = None,
    max_per_gallery: int = typer.Option(
        48, "--max-per-gallery", min=1, help="Members shown per cluster, most probable first."
    ),
    thumb_size: int = typer.Option(128, "--thumb-size", min=16, help="Thumbnail side in pixels."),
) -> None:
    """Write galleries, the 2-D map, the condensed tree and per-cluster catalogs as HTML."""
    from raregal.report import create_report

    summary = create_report(run, out, max_per_gallery=max_per_gallery, thumb_size=thumb_size)
    typer.echo(
        f"report: {summary.n_clusters} clusters, {summary.n_thumbs} gallery images "
        f"in {summary.seconds:.1f} s -> {summary.index}"
    )
    if summary.n_missing:
        per_cluster = ", ".join(f"{k}: {v}" for k, v in summary.missing_by_cluster.items())
        typer.echo(
            f"warning: {summary.n_missing} images missing or unreadable, shown as placeholders "
            f"({per_cluster})",
            err=True,
        )
