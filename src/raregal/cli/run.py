"""``raregal run`` and ``raregal demo``: the main job end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from raregal.cli import options as opt
from raregal.cli.app import app


@app.command("run")
@opt.with_search_options
def run_cli(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of images (JPEG/PNG/FITS), an image catalog (id_str, file_loc) or a "
            "representation table (id_str, feat_*)."
        ),
    ],
    out: opt.Out,
    model: Annotated[
        str,
        typer.Option(
            help="Encoder for image inputs: 'demo' (bundled), hf_hub:mwalmsley/zoobot-encoder-"
            "<name>, a local hf_hub-layout folder or a raregal checkpoint."
        ),
    ] = "demo",
    morphology: opt.Morphology = None,
    report: Annotated[bool, typer.Option(help="Write RUN/report/index.html.")] = True,
    search_params: dict[str, Any] | None = None,
) -> None:
    """Embed (for images), select, reduce, cluster and report, each stage cached in RUN."""
    from raregal.cli.search import summary_lines
    from raregal.pipeline import run_pipeline

    result = run_pipeline(
        source, out, model=model, morphology=morphology, report=report, **(search_params or {})
    )
    for line in summary_lines(result.search, out):
        typer.echo(line)
    if result.report:
        typer.echo(f"report: {result.report}")


@app.command("demo")
def demo_cli(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")] = Path("runs/demo"),
    n: Annotated[int | None, typer.Option("--n", help="Galaxies to simulate.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated survey.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Simulation processes (default: every core).")
    ] = None,
    keep_artifacts: Annotated[
        bool, typer.Option(help="Keep artifacts: the paper's artifact experiment.")
    ] = False,
    n_seeds: Annotated[
        int | None,
        typer.Option(help="UMAP seeds whose clusters are compared (default: the demo's, 3).",
                     min=1),
    ] = None,
) -> None:
    """Simulate a survey with planted rare classes, find them, and say how well it did."""
    from raregal.demo import DEMO_N, demo, format_summary

    extra = {"n_seeds": n_seeds} if n_seeds is not None else {}
    result = demo(out=out, n=n or DEMO_N, seed=seed, workers=workers,
                  keep_artifacts=keep_artifacts, **extra)  # fmt: skip
    typer.echo(format_summary(result))
