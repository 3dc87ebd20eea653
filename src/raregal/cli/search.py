"""``raregal search``: representation table -> run folder with the rare-class clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli.app import app
from raregal.constants import ID_COLUMN


@app.command("search")
def search_cli(
    representations: Annotated[
        Path,
        typer.Argument(
            help="Representation table (Parquet, CSV, Zoobot HDF5, FITS, ECSV, VOTable) with "
            "id_str and feat_0.. (or feat_pca_0..); may hold the *_fraction columns too."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder to write (or update).")],
    morphology: Annotated[
        Path | None,
        typer.Option(
            help="Vote-fraction table (e.g. the GZ DESI catalog) joined on the id; needed for "
            "the paper's selection unless the representations carry *_fraction columns."
        ),
    ] = None,
    min_samples: Annotated[
        int,
        typer.Option(
            help="HDBSCAN min_samples, the density scale. Paper: 300 for 632k featured galaxies; "
            "see --scale-to-sample for smaller samples."
        ),
    ] = 300,
    min_cluster_size: Annotated[
        int, typer.Option(help="HDBSCAN min_cluster_size. Paper: 10.")
    ] = 10,
    n_neighbors: Annotated[int, typer.Option(help="UMAP n_neighbors. Paper: 50.")] = 50,
    n_components: Annotated[
        int, typer.Option(help="UMAP dimensions that are clustered. Paper: 5.")
    ] = 5,
    min_dist: Annotated[
        float, typer.Option(help="UMAP min_dist (umap-learn default; the paper does not state it).")
    ] = 0.1,
    n_epochs: Annotated[
        int | None,
        typer.Option(help="UMAP epochs; default lets umap-learn choose (200 above 10k galaxies)."),
    ] = None,
    pca_components: Annotated[
        int | None,
        typer.Option(help="PCA to this many dimensions before UMAP (inputs wider than 128-D)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of UMAP, PCA and the medoids.")] = 0,
    engine: Annotated[
        str,
        typer.Option(
            help="HDBSCAN engine: fast_hdbscan (default), hdbscan (reference), cuml (GPU, when "
            "installed) or auto (cuml when installed, else fast_hdbscan)."
        ),
    ] = "fast_hdbscan",
    reducer: Annotated[
        str,
        typer.Option(
            help="Reduction engine: umap-learn (reference), raregal (parallel), cuml (GPU, when "
            "installed) or auto (cuml when installed, else umap-learn)."
        ),
    ] = "umap-learn",
    cluster_selection_method: Annotated[
        str, typer.Option(help="HDBSCAN cluster selection: leaf (paper) or eom.")
    ] = "leaf",
    id_column: Annotated[
        str, typer.Option(help="Id column of the representation table.")
    ] = ID_COLUMN,
    morphology_id_column: Annotated[
        str | None,
        typer.Option(help="Id column of the morphology table (e.g. dr8_id); default --id-column."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="Regular expression for the feature columns (default feat_N, feat_pca_N)."
        ),
    ] = None,
    keep_artifacts: Annotated[
        bool,
        typer.Option(
            help="Keep artifacts (paper removes smooth-or-featured_artifact_fraction >= 0.3)."
        ),
    ] = False,
    edge_on_rule: Annotated[
        str,
        typer.Option(
            help="Edge-on rule, disk-edge-on_yes_fraction >= 0.3 (paper): 'conditional' as "
            "published, or 'joint' (featured-or-disk x edge-on yes)."
        ),
    ] = "conditional",
    drop_invalid: Annotated[
        bool,
        typer.Option(
            help="Drop and count rows with NaN/inf features or without morphology, instead of "
            "refusing."
        ),
    ] = False,
    fit_sample_size: Annotated[
        int | None,
        typer.Option(
            help="Fit UMAP on this many galaxies drawn at random and place the others with "
            "UMAP's transform (for samples too large for one fit; recorded in run.json). "
            "Paper: a full fit."
        ),
    ] = None,
    ignore_memory_check: Annotated[
        bool,
        typer.Option(
            help="Run a stage even when its memory estimate exceeds the free memory (the "
            "estimate is still recorded in run.json)."
        ),
    ] = False,
    scale_to_sample: Annotated[
        bool,
        typer.Option(
            help="Scale min_samples from the paper's 300 at 632k galaxies to the number selected "
            "(about N/2100, at least 5; min_cluster_size kept, capped at min_samples)."
        ),
    ] = False,
) -> None:
    """Select featured galaxies, reduce with UMAP and find the HDBSCAN leaf clusters.

    Writes RUN/run.json and the selection, embedding, galaxies, clusters and condensed_tree
    tables. Re-running with other clustering parameters reuses the stored UMAP embedding.
    """
    from raregal.search import run_search

    search = run_search(
        representations, out, morphology=morphology, min_samples=min_samples,
        min_cluster_size=min_cluster_size, n_neighbors=n_neighbors, n_components=n_components,
        min_dist=min_dist, n_epochs=n_epochs, pca_components=pca_components,
        random_state=seed, engine=engine, reducer=reducer,
        cluster_selection_method=cluster_selection_method, id_column=id_column,
        morphology_id_column=morphology_id_column, features=features,
        keep_artifacts=keep_artifacts, edge_on_rule=edge_on_rule, drop_invalid=drop_invalid,
        scale_to_sample=scale_to_sample, fit_sample_size=fit_sample_size,
        memory_check=not ignore_memory_check,
    )  # fmt: skip
    for line in summary_lines(search, out):
        typer.echo(line)


def summary_lines(search, out: Path) -> list[str]:
    """The short summary printed after a search."""
    import json

    counts = search.counts_
    n = counts.get("selected", len(search.ids_))
    clustered = counts.get("clustered", 0)
    record = json.loads((Path(out) / "run.json").read_text())
    reused = record.get("stages", {}).get("reduce", {}).get("reused", False)
    used = search.params_used_
    lines = [
        f"{counts.get('valid', n)} galaxies read, {n} selected, {len(search.clusters_)} clusters, "
        f"{clustered} clustered ({100 * clustered / max(n, 1):.1f}%)",
        f"min_samples={used['min_samples']}, min_cluster_size={used['min_cluster_size']}, "
        f"embedding {'reused from the run folder' if reused else 'computed'}",
    ]
    for row in search.clusters_.head(20).itertuples():
        lines.append(f"  {row.letter:>3}  {row.size:7d} galaxies  medoid {row.medoid_id}")
    if len(search.clusters_) > 20:
        lines.append(f"  ... {len(search.clusters_) - 20} more in clusters.parquet")
    lines += [f"warning: {w}" for w in search.warnings_]
    lines.append(f"run folder: {Path(out).resolve()}")
    return lines
