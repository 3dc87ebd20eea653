"""A small run folder made by real computation for the discovery loop's tests.

16-D representations: an ordinary population (two broad Gaussians), two tight planted groups far
from it ('ring' and 'merger'), and galaxies that the morphology selection removed ('smooth', and
a few 'ring' members): the removed galaxies are in the representation table but not in
galaxies.parquet. The selected galaxies are clustered by HDBSCAN (leaf clusters) on a 5-D PCA of
their features; the vote fractions follow the decision tree, and the 'merger' group votes
'merging/merger'. Real Galaxy Zoo cutouts stand in for the images.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.schema import GZ_DESI

SIZES = {"bulk_a": 300, "bulk_b": 250, "ring": 45, "merger": 35, "smooth": 150,
         "ring_removed": 8}  # fmt: skip
DIM = 16


def _fractions(rng: np.random.Generator, n: int, merging: tuple[float, ...] | None) -> dict:
    columns = {}
    for question in GZ_DESI:
        mean = np.ones(len(question.answers)) / len(question.answers)
        if question.name == "merging" and merging is not None:
            mean = np.asarray(merging)
        values = rng.dirichlet(40 * mean + 0.5, n)
        for j, name in enumerate(question.fraction_columns):
            columns[name] = values[:, j]
    return columns


def build_discovery_run(root: Path, gz_examples: Path, seed: int = 0) -> Path:
    """Write the run folder described in the module docstring under ``root/run``."""
    from runfolders import write_run

    from raregal.cluster import cluster

    rng = np.random.default_rng(seed)
    centres = {
        "bulk_a": np.zeros(DIM), "bulk_b": np.r_[2.5, np.zeros(DIM - 1)],
        "ring": np.r_[0, 7.0, np.zeros(DIM - 2)], "merger": np.r_[0, 0, -8.0, np.zeros(DIM - 3)],
        "smooth": np.r_[-2.5, np.zeros(DIM - 1)],
    }  # fmt: skip
    spread = {"bulk_a": 1.0, "bulk_b": 1.0, "ring": 0.25, "merger": 0.25, "smooth": 1.0}
    parts = []
    for name, size in SIZES.items():
        kind = "ring" if name == "ring_removed" else name
        feats = centres[kind] + rng.normal(0, spread[kind], (size, DIM))
        merging = (0.04, 0.1, 0.3, 0.56) if kind == "merger" else None
        part = pd.DataFrame(feats, columns=[f"feat_{j}" for j in range(DIM)])
        for column, values in _fractions(rng, size, merging).items():
            part[column] = values
        part["true_class"] = kind
        part["selected"] = name not in ("smooth", "ring_removed")
        parts.append(part)
    reps = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)
    reps = reps.reset_index(drop=True)
    n = len(reps)
    reps.insert(0, "id_str", [f"gal{i:04d}" for i in range(n)])
    reps["ra"] = rng.uniform(150, 160, n)
    reps["dec"] = rng.uniform(-5, 5, n)
    images = root / "images"
    images.mkdir(parents=True)
    sources = sorted((gz_examples / "images").glob("decals-*.jpg"))[:12]
    for source in sources:
        shutil.copy(source, images / source.name)
    reps["file_loc"] = [str(images / sources[i % len(sources)].name) for i in range(n)]

    selected = reps[reps["selected"]].reset_index(drop=True)
    X = selected[[f"feat_{j}" for j in range(DIM)]].to_numpy()
    centred = X - X.mean(axis=0)
    embedding = centred @ np.linalg.svd(centred, full_matrices=False)[2][:5].T
    result = cluster(embedding, engine="hdbscan", min_samples=8, min_cluster_size=15,
                     ids=selected["id_str"].to_numpy())  # fmt: skip
    galaxies = pd.DataFrame({
        "id_str": selected["id_str"], "cluster": result.labels,
        "probability": result.probabilities, "outlier_score": result.outlier_scores,
        **{f"umap_{j}": embedding[:, j] for j in range(5)},
        "map_x": embedding[:, 0], "map_y": embedding[:, 1],
        "ra": selected["ra"], "dec": selected["dec"], "file_loc": selected["file_loc"],
        "true_class": selected["true_class"],
    })  # fmt: skip
    run_dir = root / "run"
    write_run(run_dir, galaxies, result.clusters, result.condensed_tree)
    from raregal.io.runfolder import RunFolder

    run = RunFolder(run_dir)
    run.write_table("representations", reps.drop(columns=["selected"]))
    run.save()
    return run_dir


@pytest.fixture(scope="session")
def discovery_source(tmp_path_factory, gz_examples) -> Path:
    """The run folder, built once; tests that write into a run copy it (``discovery_run``)."""
    return build_discovery_run(tmp_path_factory.mktemp("discovery"), gz_examples)


@pytest.fixture
def discovery_run(discovery_source, tmp_path) -> Path:
    """A fresh copy of the run folder for a test that writes into it."""
    target = tmp_path / "run"
    shutil.copytree(discovery_source, target)
    return target
