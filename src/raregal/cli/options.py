"""Search options shared by ``raregal search`` and ``raregal run``: one name, one help text.

The names are umap-learn's and hdbscan's; each help text gives the paper's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from raregal.constants import ID_COLUMN

DEFAULT_ID = ID_COLUMN

Out = Annotated[Path, typer.Option("--out", "-o", help="Run folder to write (or update).")]
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
MinDist = Annotated[
    float, typer.Option(help="UMAP min_dist (umap-learn default; the paper does not state it).")
]
NEpochs = Annotated[
    int | None,
    typer.Option(help="UMAP epochs; default lets umap-learn choose (200 above 10k galaxies)."),
]
PcaComponents = Annotated[
    int | None,
    typer.Option(help="PCA to this many dimensions before UMAP (inputs wider than 128-D)."),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of UMAP, PCA and the medoids.")]
Engine = Annotated[
    str,
    typer.Option(
        help="HDBSCAN engine: fast_hdbscan (default), hdbscan (reference), cuml (GPU, when "
        "installed) or auto (cuml when installed, else fast_hdbscan)."
    ),
]
Reducer = Annotated[
    str | None,
    typer.Option(
        help="Reduction engine: raregal (default: umap-learn's objective on every core), "
        "umap-learn (the reference), cuml (GPU, when installed) "
        "or auto (cuml when installed, else raregal)."
    ),
]
ClusterSelectionMethod = Annotated[
    str, typer.Option(help="HDBSCAN cluster selection: leaf (paper) or eom.")
]
IdColumn = Annotated[str, typer.Option(help="Id column of the representation table.")]
MorphologyIdColumn = Annotated[
    str | None,
    typer.Option(help="Id column of the morphology table (e.g. dr8_id); default --id-column."),
]
Features = Annotated[
    str | None,
    typer.Option(help="Regular expression for the feature columns (default feat_N, feat_pca_N)."),
]
KeepArtifacts = Annotated[
    bool,
    typer.Option(
        help="Keep artifacts (paper removes smooth-or-featured_artifact_fraction >= 0.3): the "
        "paper's artifact experiment."
    ),
]
EdgeOnRule = Annotated[
    str,
    typer.Option(
        help="Edge-on rule, disk-edge-on_yes_fraction >= 0.3 (paper): 'conditional' as "
        "published, or 'joint' (featured-or-disk x edge-on yes)."
    ),
]
DropInvalid = Annotated[
    bool,
    typer.Option(
        help="Drop and count rows with NaN/inf features or without morphology, instead of refusing."
    ),
]
FitSampleSize = Annotated[
    int | None,
    typer.Option(
        help="Fit UMAP on this many galaxies drawn at random and place the others with "
        "UMAP's transform (for samples too large for one fit; recorded in run.json). "
        "Paper: a full fit."
    ),
]
IgnoreMemoryCheck = Annotated[
    bool,
    typer.Option(
        help="Run a stage even when its memory estimate exceeds the free memory (the "
        "estimate is still recorded in run.json)."
    ),
]
ScaleToSample = Annotated[
    bool,
    typer.Option(
        help="Scale min_samples from the paper's 300 at 632k galaxies to the number selected "
        "(about N/2100, at least 5; min_cluster_size kept, capped at min_samples)."
    ),
]


def search_params(**options: Any) -> dict[str, Any]:
    """``RareClassSearch`` keyword arguments from CLI options.

    ``seed`` becomes ``random_state``; options left at None are left to the estimator's defaults.
    """
    params = {k: v for k, v in options.items() if v is not None}
    if "seed" in params:
        params["random_state"] = params.pop("seed")
    return params
