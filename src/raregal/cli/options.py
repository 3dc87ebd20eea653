"""Search options shared by ``raregal search`` and ``raregal run``: one name, one help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from raregal.constants import ID_COLUMN

Morphology = Annotated[
    Path | None,
    typer.Option(
        help="Vote-fraction table (e.g. the GZ DESI catalog) joined on the id; needed for "
        "the paper's selection unless the representations carry *_fraction columns."
    ),
]
MinSamples = Annotated[
    int,
    typer.Option(
        help="HDBSCAN min_samples, the density scale. Paper: 300 for 632k featured galaxies; "
        "see --scale-to-sample for smaller samples."
    ),
]
MinClusterSize = Annotated[int, typer.Option(help="HDBSCAN min_cluster_size. Paper: 10.")]
NNeighbors = Annotated[int, typer.Option(help="UMAP n_neighbors. Paper: 50.")]
NComponents = Annotated[int, typer.Option(help="UMAP dimensions that are clustered. Paper: 5.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of UMAP, PCA and the medoids.")]
Engine = Annotated[
    str, typer.Option(help="HDBSCAN engine: fast_hdbscan (default) or hdbscan (reference).")
]
Reducer = Annotated[
    str | None, typer.Option(help="Reduction engine by name (default: the fastest installed).")
]
IdColumn = Annotated[str, typer.Option(help="Id column of the representation table.")]
MorphologyIdColumn = Annotated[
    str | None,
    typer.Option(help="Id column of the morphology table (e.g. dr8_id); default --id-column."),
]
KeepArtifacts = Annotated[
    bool,
    typer.Option(
        help="Keep artifacts (paper removes smooth-or-featured_artifact_fraction >= 0.3): the "
        "paper's artifact experiment."
    ),
]
DropInvalid = Annotated[
    bool,
    typer.Option(
        help="Drop and count rows with NaN/inf features or without morphology, instead of refusing."
    ),
]
ScaleToSample = Annotated[
    bool,
    typer.Option(
        help="Scale min_samples from the paper's 300 at 632k galaxies to the number selected "
        "(about N/2100, at least 5; min_cluster_size kept, capped at min_samples)."
    ),
]

DEFAULT_ID = ID_COLUMN


def search_params(**options: Any) -> dict[str, Any]:
    """``RareClassSearch`` keyword arguments from CLI options (``seed`` -> ``random_state``;
    options left at None are left to the estimator's defaults)."""
    params = {k: v for k, v in options.items() if v is not None}
    if "seed" in params:
        params["random_state"] = params.pop("seed")
    return params
