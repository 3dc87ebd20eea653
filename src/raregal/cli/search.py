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
    from raregal.discover.ranking import display_order
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
    if n_seeds > 1 and "seed_stability" in search.clusters_:
        found = np.rint(search.clusters_["seed_stability"].to_numpy(float) * n_seeds).astype(int)
        counts = ", ".join(f"{int((found == k).sum())} in {k}" for k in range(n_seeds, 0, -1))
        consensus = search.consensus_
        n_consensus = consensus["consensus"].nunique() if consensus is not None else 0
        lines.append(f"seeds {', '.join(map(str, search.seeds_))}: clusters found again in "
                     f"{counts} of {n_seeds} seeds (Jaccard >= 0.5); {n_consensus} consensus "
                     f"clusters in consensus.parquet")  # fmt: skip
    lines += cluster_lines(display_order(search.clusters_), n_seeds=n_seeds)
    lines += [f"warning: {w}" for w in search.warnings_]
    lines.append(f"run folder: {Path(out).resolve()}")
    return lines


def cluster_lines(clusters: Any, limit: int = 20, n_seeds: int = 1) -> list[str]:
    """One line per cluster in the order given (``display_order``: by interest where ranked),
    with what sets it apart and, with several seeds, in how many it was found; the main
    population folded into one line."""
    lines = []
    main = clusters["main_population"].to_numpy(bool) if "main_population" in clusters else None
    shown = clusters if main is None else clusters[~main]
    stable = n_seeds > 1 and "seed_stability" in clusters
    for row in shown.head(limit).itertuples():
        text = getattr(row, "description", "") or f"medoid {row.medoid_id}"
        line = f"  {row.letter:>3} {int(row.size):6d} galaxies  {text}"
        if stable:
            line += f"  (found in {round(row.seed_stability * n_seeds)}/{n_seeds} seeds)"
        lines.append(line)
    if len(shown) > limit:
        lines.append(f"  ... {len(shown) - limit} more distinct cluster(s) in clusters.parquet")
    if main is not None and main.any():
        letters = ", ".join(clusters.loc[main, "letter"].astype(str))
        lines.append(f"  main population: {int(main.sum())} cluster(s) of "
                     f"{int(clusters.loc[main, 'size'].sum()):,} galaxies, no more distinct than "
                     f"the average ({letters})")  # fmt: skip
    return lines
