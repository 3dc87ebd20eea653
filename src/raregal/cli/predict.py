"""``raregal predict``: place new galaxies into an existing run's clusters, without redoing it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from raregal.cli import options as opt
from raregal.cli.app import app


@app.command("predict")
def predict_cli(
    run: Annotated[Path, typer.Argument(help="A finished run folder (raregal search or run).")],
    new_table: Annotated[
        Path,
        typer.Argument(
            help="Representation table of the new galaxies: id_str and the run's feature "
            "columns (same names and order), with the *_fraction columns when the run "
            "selected by them."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Table of the new galaxies to write (.parquet, .csv, "
                     ".fits, ...): id_str, cluster (-1 noise, -2 not selected), probability, "
                     "removed_by, umap_*, map_x, map_y."),
    ],
    morphology: opt.Morphology = None,
    add: Annotated[
        bool,
        typer.Option("--add", help="Also keep the selected new galaxies in RUN/placed.parquet, "
                     "shown beside the fitted ones (flagged as placed) by report and explore."),
    ] = False,
    drop_invalid: Annotated[
        bool | None,
        typer.Option("--drop-invalid/--no-drop-invalid", show_default=False,
                     help="Skip and count rows with NaN/inf features or no morphology (default: "
                     "as the run)."),
    ] = None,
) -> None:
    """Apply the run's selection, place the new galaxies in its embedding and map, and assign
    each to one of its leaf clusters with a membership probability (or noise)."""
    from raregal.predict import predict

    result = predict(run, new_table, out=out, morphology=morphology, add=add,
                     drop_invalid=drop_invalid)  # fmt: skip
    for line in predict_lines(result):
        typer.echo(line)


def predict_lines(result: Any) -> list[str]:
    """The short summary printed after ``raregal predict``."""
    from raregal.io.runfolder import cluster_letter

    counts = result.counts
    lines = [
        f"{counts['valid']} new galaxies read, {counts['selected']} selected by the run's rules "
        f"({counts['not_selected']} not selected), {counts['clustered']} placed in clusters, "
        f"{counts['noise']} noise",
    ]
    placed = result.table[result.table["cluster"] >= 0]
    for cluster, size in placed["cluster"].value_counts().head(20).items():
        lines.append(f"  {cluster_letter(int(cluster)):>3}  {int(size):7d} new galaxies")
    lines.append("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    if result.out:
        lines.append(f"table: {result.out}")
    if result.added:
        lines.append(f"added to the run: {result.added}")
    return lines
