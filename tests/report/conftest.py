"""Run folders for the report's tests: seeded 2-D blobs clustered by raregal's own cluster stage.

Four blobs form the main population, one blob lies far away (an island the map pulls in), and
the cutouts come from raregal's survey simulator, so that galleries show real pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.io.runfolder import RunFolder
from runfolders import clustered_galaxies, write_cutouts, write_run


def build_report_run(
    folder: Path,
    seed: int = 0,
    images: int = 8,
    descriptions: bool = False,
    extras: bool = False,
    simulated: bool = False,
    marks: pd.DataFrame | None = None,
) -> Path:
    """A run folder: blobs -> raregal's cluster stage (hdbscan, leaf clusters) -> tables.

    Parameters
    ----------
    descriptions, extras : bool
        Give clusters.parquet ``description`` / ``interest``, ``interest_rank`` and
        ``seed_stability`` columns (as the discovery stage will).
    simulated : bool
        Record in run.json that the galaxies come from the simulated survey.
    marks : DataFrame, optional
        Written as the explorer's ``marks.parquet``.
    """
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [60, 70]], dtype=float)
    sizes = [60, 45, 35, 25, 20]
    blobs = [c + rng.normal(scale=0.5, size=(n, 2)) for c, n in zip(centres, sizes, strict=True)]
    points = np.vstack([*blobs, rng.uniform(-3, 9, size=(40, 2))])
    n = len(points)
    ids = [f"gal{i:04d}" for i in range(n)]
    result, galaxies = clustered_galaxies(
        points, ids, 10, ra=rng.uniform(150, 160, n), dec=rng.uniform(-5, 5, n)
    )
    if images:
        cutouts = write_cutouts(folder.parent / "images", images, size=48, seed=seed)
        galaxies["file_loc"] = [str(cutouts[i % len(cutouts)]) for i in range(n)]
    clusters = result.clusters
    if descriptions:
        clusters["description"] = [f"{k}-armed <spiral> with a ring" for k in clusters["cluster"]]
    if extras:
        clusters["interest"] = np.linspace(0.9, 0.1, len(clusters))
        clusters["interest_rank"] = np.arange(1, len(clusters) + 1)
        clusters["seed_stability"] = 0.75
    record = {"stages": {"cluster": {"params": {"min_samples": 5}}}, "counts": {"selected": n}}
    if simulated:
        record["inputs"] = {"catalog": {"path": "survey/catalog.parquet", "simulated": True}}
    write_run(folder, galaxies, clusters, result.condensed_tree, record)
    if marks is not None:
        RunFolder(folder).write_table("marks", marks)
    return folder


@pytest.fixture(scope="session")
def make_report_run():
    return build_report_run
