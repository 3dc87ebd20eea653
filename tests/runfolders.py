"""Test helper: write a run folder from tables, through the run-folder contract."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.io.runfolder import RunFolder
from raregal.io.tables import write_table
from raregal.schema import FRACTION_COLUMNS


def write_run(
    folder: Path,
    galaxies: pd.DataFrame,
    clusters: pd.DataFrame,
    tree: pd.DataFrame,
    record: dict[str, Any] | None = None,
) -> Path:
    """A run folder holding these tables (checked by ``TABLES``) and ``record`` in run.json."""
    run = RunFolder(folder)
    run.write_table("galaxies", galaxies)
    run.write_table("clusters", clusters)
    run.write_table("condensed_tree", tree)
    run.record.update(record or {})
    run.save()
    return folder


def update_record(folder: Path, **sections: Any) -> None:
    """Replace sections of an existing run folder's run.json."""
    run = RunFolder(folder)
    run.record.update(sections)
    run.save()


def build_explore_run(root: Path, gz_examples: Path, seed: int = 0, n_images: int = 24) -> Path:
    """A run folder made by real computation: blobs -> hdbscan leaf clusters -> tables.

    Three pairs of 5-D blobs (so that the condensed tree joins each pair before the root), uniform
    noise, 16-D representations that are a seeded linear map of the 5-D positions, vote fractions
    and real Galaxy Zoo cutouts copied into ``root/images`` (the shared folder is never written).
    """
    from raregal.cluster import cluster

    rng = np.random.default_rng(seed)
    pair_centres = np.array([[0, 0, 0, 0, 0], [12, 0, 0, 0, 0], [0, 12, 0, 0, 0]], float)
    centres = np.concatenate([pair_centres, pair_centres + np.array([2.2, 2.2, 0, 0, 0])])
    sizes = [70, 55, 45, 40, 35, 30]
    blobs = [c + rng.normal(0, 0.45, (s, 5)) for c, s in zip(centres, sizes, strict=True)]
    noise = rng.uniform(-3, 15, (40, 5))
    umap = np.concatenate([*blobs, noise])
    n = len(umap)
    ids_str = [f"gal{i:04d}" for i in range(n)]
    result = cluster(umap, engine="hdbscan", min_samples=5, min_cluster_size=15,
                     ids=np.array(ids_str))  # fmt: skip

    images = root / "images"
    images.mkdir(parents=True)
    sources = sorted((gz_examples / "images").glob("decals-*.jpg"))[:n_images]
    for s in sources:
        shutil.copy(s, images / s.name)
    galaxies = pd.DataFrame(
        {
            "id_str": ids_str,
            "cluster": result.labels,
            "probability": result.probabilities,
            "outlier_score": result.outlier_scores,
            **{f"umap_{j}": umap[:, j] for j in range(5)},
            "map_x": umap[:, 0],
            "map_y": umap[:, 1],
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-30, 60, n),
            "file_loc": [str(images / sources[i % len(sources)].name) for i in range(n)],
        }
    )
    projection = rng.normal(size=(5, 16))
    feats = umap @ projection + rng.normal(0, 0.01, (n, 16))
    fractions = rng.dirichlet(np.ones(len(FRACTION_COLUMNS)), n)
    representations = pd.DataFrame({"id_str": ids_str})
    for j in range(16):
        representations[f"feat_{j}"] = feats[:, j]
    for j, col in enumerate(FRACTION_COLUMNS):
        representations[col] = fractions[:, j]
    rep_path = root / "representations.parquet"
    write_table(representations, rep_path)
    record = {"inputs": {"representations": {"path": str(rep_path)}}}
    return write_run(root / "run", galaxies, result.clusters, result.condensed_tree, record)
