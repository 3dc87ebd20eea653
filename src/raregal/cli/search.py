"""``raregal search``: representation table -> run folder with the rare-class clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli import options as opt
from raregal.cli.app import app


@app.command("search")
def search_cli(
    representations: Annotated[
        Path,
        typer.Argument(
            help="Representation table (Parquet, CSV, Zoobot HDF5, FITS, ECSV, VOTable) with "
            "id_str and feat_0.. (or feat_pca_0..); may hold the *_fraction columns too."
        ),
    ],
    out: opt.Out,
    morphology: opt.Morphology = None,
    min_samples: opt.MinSamples = 300,
    min_cluster_size: opt.MinClusterSize = 10,
    n_neighbors: opt.NNeighbors = 50,
    n_components: opt.NComponents = 5,
    min_dist: opt.MinDist = 0.1,
    n_epochs: opt.NEpochs = None,
    pca_components: opt.PcaComponents = None,
    seed: opt.Seed = 0,
    engine: opt.Engine = "fast_hdbscan",
    reducer: opt.Reducer = None,
    cluster_selection_method: opt.ClusterSelectionMethod = "leaf",
    id_column: opt.IdColumn = opt.DEFAULT_ID,
    morphology_id_column: opt.MorphologyIdColumn = None,
    features: opt.Features = None,
    keep_artifacts: opt.KeepArtifacts = False,
    edge_on_rule: opt.EdgeOnRule = "conditional",
    drop_invalid: opt.DropInvalid = False,
    fit_sample_size: opt.FitSampleSize = None,
    ignore_memory_check: opt.IgnoreMemoryCheck = False,
    scale_to_sample: opt.ScaleToSample = False,
) -> None:
    """Select featured galaxies, reduce with UMAP and find the HDBSCAN leaf clusters.

    Writes RUN/run.json and the selection, embedding, galaxies, clusters and condensed_tree
    tables. Re-running with other clustering parameters reuses the stored UMAP embedding.
    """
    from raregal.search import run_search

    params = opt.search_params(
        min_samples=min_samples, min_cluster_size=min_cluster_size, n_neighbors=n_neighbors,
        n_components=n_components, min_dist=min_dist, n_epochs=n_epochs,
        pca_components=pca_components, seed=seed, engine=engine, reducer=reducer,
        cluster_selection_method=cluster_selection_method, id_column=id_column,
        morphology_id_column=morphology_id_column, features=features,
        keep_artifacts=keep_artifacts, edge_on_rule=edge_on_rule, drop_invalid=drop_invalid,
        scale_to_sample=scale_to_sample, fit_sample_size=fit_sample_size,
        memory_check=not ignore_memory_check,
    )  # fmt: skip
    search = run_search(representations, out, morphology=morphology, **params)
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
