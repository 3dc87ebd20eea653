"""``raregal rank`` and ``raregal find``: the discovery loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from raregal.cli.app import app
from raregal.cli.options import with_parameter_options
from raregal.config import FIND_PARAMETERS, QUEUE_PARAMETERS

QUEUE_PANEL = "Queue parameters"
FIND_PANEL = "Model and round parameters"
SHOWN = 10

Run = Annotated[Path, typer.Argument(help="A finished run folder.")]
SelectedOnly = Annotated[
    bool,
    typer.Option("--selected-only", help="Only the galaxies the morphology selection kept "
                 "(default: every encoded galaxy)."),
]  # fmt: skip


@app.command("rank")
@with_parameter_options(QUEUE_PARAMETERS, QUEUE_PANEL, "queue_params")
def rank_cli(
    run: Run,
    selected_only: SelectedOnly = False,
    gallery: Annotated[bool, typer.Option(help="Draw the queue's first places.")] = True,
    queue_params: dict[str, Any] | None = None,
) -> None:
    """Rank the clusters by how rare they look and write the weirdest-first queue.

    Writes RUN/candidates.parquet (id_str, anomaly_score, anomaly_rank, ...) over every encoded
    galaxy, a gallery of its first places (RUN/report/galleries/candidates.jpg), and the
    ranking and descriptions of clusters.parquet.
    """
    from raregal.discover.queue import rank_run

    result = rank_run(run, selected_only=selected_only, gallery=gallery, **(queue_params or {}))
    for line in rank_lines(result, run):
        typer.echo(line)


def rank_lines(result: Any, run: Path) -> list[str]:
    """The summary printed by ``raregal rank``."""
    from raregal.cli.search import cluster_lines
    from raregal.discover.ranking import display_order

    candidates = result.candidates
    lines = [f"clusters, by interest{' (ranking written)' if result.clusters_rewritten else ''}:"]
    lines += cluster_lines(display_order(result.clusters))
    lines.append(f"weirdest first, {len(candidates):,} galaxies "
                 f"({int(candidates['selected'].sum()):,} selected):")  # fmt: skip
    for row in candidates.head(SHOWN).itertuples():
        lines.append(f"  {row.anomaly_rank:4d}  {row.id_str}  score {row.anomaly_score:.2f}  "
                     f"{where(row.cluster)}")  # fmt: skip
    lines.append(f"queue: {Path(run).resolve() / 'candidates.parquet'}")
    if result.gallery is not None:
        lines.append(f"gallery: {result.gallery}")
    return lines


def where(cluster: int) -> str:
    """'cluster F', 'noise' or 'removed by the selection'."""
    from raregal.constants import NOISE
    from raregal.io.runfolder import cluster_letter

    if cluster >= 0:
        return f"cluster {cluster_letter(int(cluster))}"
    return "noise" if cluster == NOISE else "removed by the selection"


@app.command("find")
@with_parameter_options(FIND_PARAMETERS, FIND_PANEL, "find_params")
def find_cli(
    run: Run,
    positive: Annotated[
        list[str] | None,
        typer.Option("--positive", "-p", help="Id of a galaxy of the class sought (repeat)."),
    ] = None,
    negative: Annotated[
        list[str] | None,
        typer.Option("--negative", "-n", help="Id of a galaxy that is not (repeat)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="FOUND: every ranked galaxy, best first (.vot for "
                     "TOPCAT, .csv, .parquet, .fits)."),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(help="Keep the examples and answers as this session's rounds in "
                     "RUN/rounds.parquet, and fit on all of them (resumable)."),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(help="Table of id_str and answer (yes/no): saved as the session's next "
                     "round (fill the file written by --ask)."),
    ] = None,
    ask: Annotated[
        Path | None,
        typer.Option(help="Write the next round to answer there (an empty answer column)."),
    ] = None,
    selected_only: SelectedOnly = False,
    find_params: dict[str, Any] | None = None,
) -> None:
    """Rank every encoded galaxy by likeness to a few examples, learning from yes/no answers."""
    from raregal.discover.active import find

    found = find(run, positive or [], negative or [], out=out, session=session, answers=answers,
                 ask=ask, selected_only=selected_only, **(find_params or {}))  # fmt: skip
    typer.echo(f"{len(found):,} galaxies ranked; the first {SHOWN}:")
    for row in found.head(SHOWN).itertuples():
        answer = f"  ({row.answer})" if isinstance(row.answer, str) else ""
        typer.echo(f"  {row.rank:4d}  {row.id_str}  score {row.score:.3f}{answer}")
    if out is not None:
        typer.echo(f"found: {out}")
    if ask is not None:
        typer.echo(f"next round to answer: {ask} (fill 'answer', pass it with --answers)")
