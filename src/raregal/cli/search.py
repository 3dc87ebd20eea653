"""``raregal search``: representation table -> run folder with the rare-class clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from raregal.cli import options as opt
from raregal.cli.app import app


@app.command("search")
@opt.with_search_options
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
    search_params: dict[str, Any] | None = None,
) -> None:
    """Select featured galaxies, reduce with UMAP and find the HDBSCAN leaf clusters.

    Writes RUN/run.json and the selection, embedding, galaxies, clusters and condensed_tree
    tables. Re-running with other clustering parameters reuses the stored UMAP embedding.
    """
    from raregal.search import run_search

    search = run_search(representations, out, morphology=morphology, **(search_params or {}))
    for line in summary_lines(search, out):
        typer.echo(line)


def summary_lines(search: Any, out: Path) -> list[str]:
    """The short summary printed after a search."""
    from raregal.io.runfolder import RunFolder

    counts = search.counts_
    n = counts.get("selected", len(search.ids_))
    clustered = counts.get("clustered", 0)
    record = RunFolder.open(out).record
    reused = record.get("stages", {}).get("reduce", {}).get("reused", False)
    used = search.params_used_
    lines = [
        f"{counts.get('valid', n)} galaxies read, {n} selected, {len(search.clusters_)} clusters, "
        f"{clustered} clustered ({100 * clustered / max(n, 1):.1f}%)",
        f"min_samples={used['min_samples']}, min_cluster_size={used['min_cluster_size']}, "
        f"embedding {'reused from the run folder' if reused else 'computed'}",
    ]
    n_seeds = len(getattr(search, "seeds_", []) or [])
    stability = (search.clusters_["seed_stability"].to_numpy(float)
                 if n_seeds > 1 and "seed_stability" in search.clusters_ else None)  # fmt: skip
    if stability is not None:
        found = np.rint(stability * n_seeds).astype(int)
        counts = ", ".join(f"{int((found == k).sum())} in {k}" for k in range(n_seeds, 0, -1))
        consensus = search.consensus_
        n_consensus = consensus["consensus"].nunique() if consensus is not None else 0
        lines.append(f"seeds {', '.join(map(str, search.seeds_))}: clusters found again in "
                     f"{counts} of {n_seeds} seeds (Jaccard >= 0.5); {n_consensus} consensus "
                     f"clusters in consensus.parquet")  # fmt: skip
    for i, row in enumerate(search.clusters_.head(20).itertuples()):
        line = f"  {row.letter:>3}  {row.size:7d} galaxies  medoid {row.medoid_id}"
        if stability is not None:
            line += f"  found in {found[i]}/{n_seeds} seeds"
        lines.append(line)
    if len(search.clusters_) > 20:
        lines.append(f"  ... {len(search.clusters_) - 20} more in clusters.parquet")
    lines += [f"warning: {w}" for w in search.warnings_]
    lines.append(f"run folder: {Path(out).resolve()}")
    return lines
