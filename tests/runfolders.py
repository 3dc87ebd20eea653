"""Test helper: write a run folder from tables, through the run-folder contract."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.io.runfolder import RunFolder
from raregal.io.tables import write_table
from raregal.schema import FRACTION_COLUMNS, GZ_DESI


def clustered_galaxies(
    points: np.ndarray, ids: list[str], min_cluster_size: int, **columns: Any
) -> tuple[Any, pd.DataFrame]:
    """HDBSCAN (the reference engine, leaf clusters) of ``points`` as the search's reduced
    coordinates, and the galaxies table of that result (``umap_*``, the map from the first two
    axes, and ``columns``)."""
    from raregal.cluster import cluster

    result = cluster(points, engine="hdbscan", min_samples=5, min_cluster_size=min_cluster_size,
                     ids=np.array(ids))  # fmt: skip
    galaxies = pd.DataFrame(
        {
            "id_str": ids,
            "cluster": result.labels,
            "probability": result.probabilities,
            "outlier_score": result.outlier_scores,
            **{f"umap_{j}": points[:, j] for j in range(points.shape[1])},
            "map_x": points[:, 0],
            "map_y": points[:, 1],
            **columns,
        }
    )
    return result, galaxies


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
    rng = np.random.default_rng(seed)
    pair_centres = np.array([[0, 0, 0, 0, 0], [12, 0, 0, 0, 0], [0, 12, 0, 0, 0]], float)
    centres = np.concatenate([pair_centres, pair_centres + np.array([2.2, 2.2, 0, 0, 0])])
    sizes = [70, 55, 45, 40, 35, 30]
    blobs = [c + rng.normal(0, 0.45, (s, 5)) for c, s in zip(centres, sizes, strict=True)]
    noise = rng.uniform(-3, 15, (40, 5))
    umap = np.concatenate([*blobs, noise])
    n = len(umap)
    ids_str = [f"gal{i:04d}" for i in range(n)]
    images = root / "images"
    images.mkdir(parents=True)
    sources = sorted((gz_examples / "images").glob("decals-*.jpg"))[:n_images]
    for s in sources:
        shutil.copy(s, images / s.name)
    result, galaxies = clustered_galaxies(
        umap,
        ids_str,
        15,
        ra=rng.uniform(0, 360, n),
        dec=rng.uniform(-30, 60, n),
        file_loc=[str(images / sources[i % len(sources)].name) for i in range(n)],
    )
    rep_path = write_representations(root, ids_str, umap, rng)
    record = {"inputs": {"representations": {"path": str(rep_path)}}}
    return write_run(root / "run", galaxies, result.clusters, result.condensed_tree, record)


# ----------------------------------------------------------------------------- the discovery loop
DISCOVERY_SIZES = {"bulk_a": 300, "bulk_b": 250, "ring": 45, "merger": 35, "smooth": 150,
                   "ring_removed": 8}  # fmt: skip
DISCOVERY_DIM = 16


def _tree_fractions(rng: np.random.Generator, n: int, merging: tuple[float, ...] | None) -> dict:
    columns = {}
    for question in GZ_DESI:
        mean = np.ones(len(question.answers)) / len(question.answers)
        if question.name == "merging" and merging is not None:
            mean = np.asarray(merging)
        values = rng.dirichlet(40 * mean + 0.5, n)
        for j, name in enumerate(question.fraction_columns):
            columns[name] = values[:, j]
    return columns


def write_representations(
    root: Path, ids: list[str], points: np.ndarray, rng: np.random.Generator
) -> Path:
    """``root/representations.parquet``: 16 features that are a random linear image of ``points``
    (plus a little noise) and random vote fractions, for ``ids``."""
    n = len(ids)
    feats = points @ rng.normal(size=(points.shape[1], 16)) + rng.normal(0, 0.01, (n, 16))
    fractions = rng.dirichlet(np.ones(len(FRACTION_COLUMNS)), n)
    representations = pd.DataFrame({"id_str": ids})
    for j in range(16):
        representations[f"feat_{j}"] = feats[:, j]
    for j, col in enumerate(FRACTION_COLUMNS):
        representations[col] = fractions[:, j]
    path = root / "representations.parquet"
    write_table(representations, path)
    return path


def write_cutouts(
    folder: Path, count: int, size: int = 96, seed: int = 0, formats: tuple[str, ...] = ("png",)
) -> list[Path]:
    """``count`` cutouts of simulated galaxies (``raregal.simulate``) of ``size`` px, written in
    ``formats`` in turn (``png``, ``jpg`` or ``fits``)."""
    from PIL import Image

    from raregal.simulate.classes import class_fractions
    from raregal.simulate.galaxy import simulate_galaxy
    from raregal.simulate.render import to_rgb, write_fits

    folder.mkdir(parents=True, exist_ok=True)
    fractions = class_fractions()
    paths = []
    for i in range(count):
        galaxy = simulate_galaxy(seed, i, size, fractions)
        kind = formats[i % len(formats)]
        path = folder / f"cutout{i:03d}.{kind}"
        if kind == "fits":
            write_fits(galaxy.bands, path)
        else:
            Image.fromarray(to_rgb(galaxy.bands)).save(path, quality=92)
        paths.append(path)
    return paths


def build_ranked_discovery_run(root: Path, gz_examples: Path, seed: int = 0) -> Path:
    """``build_discovery_run`` with its clusters ranked by the discovery queue."""
    from raregal.discover.queue import rerank_clusters

    run = build_discovery_run(root, gz_examples, seed)
    rerank_clusters(run)
    return run


def build_discovery_run(root: Path, gz_examples: Path, seed: int = 0) -> Path:
    """A run folder for the discovery loop, made by real computation, under ``root/run``.

    16-D representations: an ordinary population (two broad Gaussians), two tight planted groups
    far from it ('ring' and 'merger'), and galaxies that the morphology selection removed
    ('smooth', and a few 'ring' members): the removed galaxies are in the run's
    representations.parquet but not in galaxies.parquet. The selected galaxies are clustered by
    HDBSCAN (leaf clusters) on a 5-D PCA of their features; the vote fractions follow the
    decision tree and the 'merger' group votes 'merging/merger'. Real Galaxy Zoo cutouts (copied
    into ``root/images``) stand in for the images.
    """
    from raregal.cluster import cluster

    rng = np.random.default_rng(seed)
    dim = DISCOVERY_DIM
    centres = {
        "bulk_a": np.zeros(dim), "bulk_b": np.r_[2.5, np.zeros(dim - 1)],
        "ring": np.r_[0, 7.0, np.zeros(dim - 2)], "merger": np.r_[0, 0, -8.0, np.zeros(dim - 3)],
        "smooth": np.r_[-2.5, np.zeros(dim - 1)],
    }  # fmt: skip
    spread = {"bulk_a": 1.0, "bulk_b": 1.0, "ring": 0.25, "merger": 0.25, "smooth": 1.0}
    parts = []
    for name, size in DISCOVERY_SIZES.items():
        kind = "ring" if name == "ring_removed" else name
        feats = centres[kind] + rng.normal(0, spread[kind], (size, DISCOVERY_DIM))
        merging = (0.04, 0.1, 0.3, 0.56) if kind == "merger" else None
        part = pd.DataFrame(feats, columns=[f"feat_{j}" for j in range(DISCOVERY_DIM)])
        for column, values in _tree_fractions(rng, size, merging).items():
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
    X = selected[[f"feat_{j}" for j in range(DISCOVERY_DIM)]].to_numpy()
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
    run = RunFolder(run_dir)
    run.write_table("representations", reps.drop(columns=["selected"]))
    run.save()
    return run_dir
