"""Generated representations for tests and benchmarks: a smooth bulk plus planted tight groups.

The bulk is a mixture of broad Gaussians in a low-dimensional latent space, mapped linearly into
``n_features`` dimensions with a little isotropic noise (a curved, smooth cloud like a model's
representation space). Each planted group is a tight Gaussian placed inside the bulk; its members
carry ``group`` = its number and ``true_class`` = ``planted_<k>``; bulk rows have ``group`` = -1
and ``true_class`` = 'bulk'. Rows are generated chunk by chunk, so 632k x 128 needs only the
output array (float32) and ``write_representations`` keeps memory flat by writing row groups.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.constants import ID_COLUMN

BULK_CLASS = "bulk"
DEFAULT_GROUP_SIZES = (400, 300, 200)


class _Model:
    """The fixed parameters of one generated population (drawn from ``seed``)."""

    def __init__(self, n_features: int, n_groups: int, latent_dim: int, n_bulk: int,
                 group_scale: float, noise: float, seed: int) -> None:  # fmt: skip
        rng = np.random.default_rng([seed, 0])
        q, _ = np.linalg.qr(rng.normal(size=(n_features, latent_dim)))
        self.projection = q.T.astype(np.float32)  # (latent, features), orthonormal rows
        self.bulk_means = rng.normal(0.0, 1.5, size=(n_bulk, latent_dim))
        self.bulk_scales = rng.uniform(0.8, 1.3, size=n_bulk)
        component = rng.integers(0, n_bulk, size=n_groups)
        self.group_means = self.bulk_means[component] + rng.normal(0, 1.0, (n_groups, latent_dim))
        self.group_scale = group_scale
        self.noise = noise
        self.latent_dim = latent_dim
        self.n_bulk = n_bulk


def _labels(n: int, group_sizes: Sequence[int], seed: int) -> np.ndarray:
    n_planted = int(sum(group_sizes))
    if n_planted > n:
        raise ValueError(f"planted groups hold {n_planted} rows, more than n={n}")
    labels = np.full(n, -1, dtype=np.int64)
    labels[:n_planted] = np.repeat(np.arange(len(group_sizes)), group_sizes)
    return np.random.default_rng([seed, 1]).permutation(labels)


def _chunk_features(model: _Model, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    latent = np.empty((n, model.latent_dim))
    bulk = labels < 0
    component = rng.integers(0, model.n_bulk, size=int(bulk.sum()))
    latent[bulk] = (
        model.bulk_means[component]
        + rng.normal(size=(int(bulk.sum()), model.latent_dim)) * model.bulk_scales[component, None]
    )
    planted = ~bulk
    latent[planted] = model.group_means[labels[planted]] + rng.normal(
        0.0, model.group_scale, size=(int(planted.sum()), model.latent_dim)
    )
    latent = np.tanh(latent / 3.0) * 3.0  # a gentle curve, so the bulk is not a pure Gaussian
    features = latent.astype(np.float32) @ model.projection
    features += rng.normal(0.0, model.noise, size=features.shape).astype(np.float32)
    return features


def _morphology(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Vote fractions: about 35% smooth, some edge-on and artifacts; planted groups featured."""
    n = len(labels)
    smooth = rng.beta(1.2, 1.8, n)
    artifact = rng.beta(0.6, 12.0, n)
    planted = labels >= 0
    smooth[planted] = rng.uniform(0.02, 0.2, int(planted.sum()))
    artifact[planted] = rng.uniform(0.0, 0.05, int(planted.sum()))
    total = smooth + artifact
    over = total > 1
    smooth[over], artifact[over] = smooth[over] / total[over], artifact[over] / total[over]
    featured = 1.0 - smooth - artifact
    edge_on = rng.beta(0.7, 4.0, n)
    edge_on[planted] = rng.uniform(0.0, 0.1, int(planted.sum()))
    edge_on[featured < 0.05] = np.nan  # rarely asked: the catalog leaves it empty
    return {
        "smooth-or-featured_smooth_fraction": smooth,
        "smooth-or-featured_featured-or-disk_fraction": featured,
        "smooth-or-featured_artifact_fraction": artifact,
        "disk-edge-on_yes_fraction": edge_on,
        "disk-edge-on_no_fraction": 1.0 - edge_on,
    }


def iter_representation_chunks(
    n: int,
    n_features: int = 128,
    group_sizes: Sequence[int] = DEFAULT_GROUP_SIZES,
    seed: int = 0,
    morphology: bool = False,
    chunk: int = 65_536,
    latent_dim: int = 12,
    n_bulk: int = 8,
    group_scale: float = 0.15,
    noise: float = 0.05,
) -> Iterator[pd.DataFrame]:
    """Yield the rows of ``make_representations`` in chunks of ``chunk`` rows."""
    model = _Model(n_features, len(group_sizes), latent_dim, n_bulk, group_scale, noise, seed)
    labels = _labels(n, group_sizes, seed)
    names = [f"feat_{i}" for i in range(n_features)]
    for index, start in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, 2, index])
        part = labels[start : start + chunk]
        df = pd.DataFrame(_chunk_features(model, part, rng), columns=names)
        df.insert(0, ID_COLUMN, [f"gal{i:07d}" for i in range(start, start + len(part))])
        df["group"] = part
        df["true_class"] = np.where(part < 0, BULK_CLASS, np.char.add("planted_", part.astype(str)))
        if morphology:
            for name, values in _morphology(part, rng).items():
                df[name] = values
        yield df


def make_representations(n: int, n_features: int = 128,
                         group_sizes: Sequence[int] = DEFAULT_GROUP_SIZES, seed: int = 0,
                         morphology: bool = False, **kwargs) -> pd.DataFrame:  # fmt: skip
    """Generated representations with planted groups.

    Parameters
    ----------
    n : int
        Rows in all (bulk + planted).
    n_features : int, default=128
        Width of ``feat_*`` (Zoobot's bottleneck is 128).
    group_sizes : sequence of int, default=(400, 300, 200)
        Members of each planted group.
    seed : int, default=0
        Seed; the same seed gives the same table.
    morphology : bool, default=False
        Add GZ DESI vote fractions (smooth, featured, artifact, edge-on); planted groups are kept
        by the paper's selection.
    **kwargs
        ``chunk``, ``latent_dim``, ``n_bulk``, ``group_scale`` (spread of a group relative to the
        bulk's, default 0.15), ``noise``.

    Returns
    -------
    DataFrame
        ``id_str``, ``feat_0..``, ``group`` (-1 for bulk), ``true_class`` and fractions if asked.
    """
    names = [f"feat_{i}" for i in range(n_features)]
    features = np.empty((n, n_features), dtype=np.float32)  # filled in place: no concat copy
    others: list[pd.DataFrame] = []
    start = 0
    for part in iter_representation_chunks(n, n_features, group_sizes, seed, morphology, **kwargs):
        features[start : start + len(part)] = part[names].to_numpy()
        others.append(part.drop(columns=names))
        start += len(part)
    rest = pd.concat(others, ignore_index=True)
    df = pd.DataFrame(features, columns=names, copy=False)
    df.insert(0, ID_COLUMN, rest.pop(ID_COLUMN))
    for column in rest.columns:
        df[column] = rest[column].to_numpy()
    return df


def write_representations(path: str | os.PathLike[str], n: int, **kwargs) -> Path:
    """Write ``make_representations(n, **kwargs)`` to Parquet one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raregal.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        writer = None
        for df in iter_representation_chunks(n, **kwargs):
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
    return path
