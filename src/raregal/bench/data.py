"""Generated representations for the benchmarks, cached as .npy so every config reads the same.

Planted groups scale with N (fractions ``GROUP_FRACTIONS``): at the paper's 632k galaxies they
hold about 3,200, 2,100, 1,300 and 800 members, a few times ``min_samples=300`` as the paper's
rare classes; HDBSCAN's density parameters follow ``raregal.config.scale_for_sample``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raregal.io.atomic import atomic_path

GROUP_FRACTIONS = (1 / 200, 1 / 300, 1 / 500, 1 / 800)


def group_sizes(n: int) -> tuple[int, ...]:
    """Planted group sizes for ``n`` rows (at least 12 members each)."""
    return tuple(max(12, round(n * f)) for f in GROUP_FRACTIONS)


def cached_representations(
    cache: Path, n: int, seed: int = 0, n_features: int = 128
) -> tuple[Path, Path]:
    """Paths of ``X`` (float32, n x n_features) and ``group`` (int64) for (n, seed), made once."""
    from raregal.synthetic import iter_representation_chunks

    cache.mkdir(parents=True, exist_ok=True)
    stem = cache / f"reps_n{n}_d{n_features}_s{seed}"
    x_path, g_path = stem.with_suffix(".X.npy"), stem.with_suffix(".group.npy")
    if x_path.exists() and g_path.exists():
        return x_path, g_path
    X = np.empty((n, n_features), dtype=np.float32)
    groups = np.empty(n, dtype=np.int64)
    chunks = iter_representation_chunks(n, n_features, group_sizes(n), seed)
    start = 0
    for df in chunks:
        rows = slice(start, start + len(df))
        X[rows] = df.filter(regex=r"^feat_\d+$").to_numpy(np.float32)
        groups[rows] = df["group"].to_numpy()
        start += len(df)
    for path, array in ((x_path, X), (g_path, groups)):
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, array)
    return x_path, g_path
