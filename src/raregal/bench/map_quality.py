"""The ``map`` suite: is the cheaper 2-D map as faithful as umap-learn's own 2-D UMAP?

raregal lays out the map from the clustered layout's fuzzy graph, started from that layout's
principal plane (``raregal.reduce.raregal_umap.RaregalUmapReducer.map_layout``). For each data
seed this suite makes umap-learn's map (``umap.UMAP(n_neighbors=50, n_components=2)``, as the
reference script) and raregal's maps with several epoch counts, started from the clustered layout
and from the first principal components of the input, and measures each map against the input:

- **neighbourhood preservation**: the share of each galaxy's ``K`` nearest neighbours in the
  128-D representations that are among its ``K`` nearest on the map (on ``SAMPLE`` galaxies);
- **trustworthiness** (scikit-learn's, ``K`` neighbours) on ``TRUST_SAMPLE`` galaxies: how far
  the map's neighbours are from being input neighbours;
- **planted-group purity**: the share of a planted galaxy's ``K`` map neighbours in its group;
- **agreement with umap-learn**: the share of map neighbours the map shares with umap-learn's.

It writes the figures as a table and ``map_faithfulness.png`` (the measures against the epochs,
umap-learn's as a band over seeds; and the maps of the first seed side by side).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from raregal.bench.data import group_sizes

logger = logging.getLogger(__name__)

K = 15
SAMPLE = 3_000
TRUST_SAMPLE = 3_000
MAP_EPOCHS = (25, 50, 100, 200)
"""Epochs of raregal's map from the clustered layout, compared."""
CLUSTERED_EPOCHS = 200


def input_neighbours(X: np.ndarray, rows: np.ndarray, k: int = K) -> np.ndarray:
    """Exact ``k`` nearest rows of ``X`` to each of ``rows`` (itself left out)."""
    norms = np.einsum("ij,ij->i", X, X)
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        d2 = norms[None, :] - 2.0 * (X[part] @ X.T) + norms[part, None]
        d2[np.arange(len(part)), part] = np.inf
        nearest = np.argpartition(d2, k, axis=1)[:, :k]
        out[start : start + len(part)] = nearest
    return out


def map_neighbours(embedding: np.ndarray, rows: np.ndarray, k: int = K) -> np.ndarray:
    """The ``k`` nearest map points to each of ``rows`` (itself left out)."""
    from scipy.spatial import cKDTree

    _, index = cKDTree(embedding).query(embedding[rows], k=k + 1)
    return np.array([[j for j in row if j != r][:k] for row, r in zip(index, rows, strict=True)])


def map_name(start: str, epochs: int) -> str:
    """The name of one of raregal's maps in the suite's rows."""
    return f"raregal, {start} start, {epochs} epochs"


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of each row's entries of ``a`` that are in the same row of ``b``."""
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def map_figures(X: np.ndarray, groups: np.ndarray, embedding: np.ndarray, rows: np.ndarray,
                truth: np.ndarray, trust_rows: np.ndarray,
                reference: np.ndarray | None) -> dict[str, float]:  # fmt: skip
    """The suite's measures of one map (see the module docstring)."""
    from sklearn.manifold import trustworthiness

    near = map_neighbours(embedding, rows)
    planted = groups[rows] >= 0
    trust = trustworthiness(X[trust_rows], embedding[trust_rows], n_neighbors=K)
    purity = np.mean(groups[near[planted]] == groups[rows][planted, None]) if planted.any() else 0
    figures = {
        "preservation": round(overlap(truth, near), 4),
        "trustworthiness": round(float(trust), 4),
        "planted_purity": round(float(purity), 4),
    }
    if reference is not None:
        figures["shared_with_umap_learn"] = round(overlap(near, reference), 4)
    return figures


def run_map_quality(
    n: int, seeds: Sequence[int], out: Path | None = None,
    map_epochs: Sequence[int] = MAP_EPOCHS, reference: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """The suite's rows (one per seed and map) and, with ``out``, its figure."""
    from raregal.reduce.raregal_umap import build_graph, layout_graph, layout_start, pca_init
    from raregal.synthetic import make_representations

    rows_out: list[dict[str, Any]] = []
    maps: dict[str, np.ndarray] = {}
    for seed in seeds:
        df = make_representations(n, group_sizes=group_sizes(n), seed=seed)
        X = df.filter(regex=r"^feat_\d+$").to_numpy(np.float32)
        groups = df["group"].to_numpy()
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, min(SAMPLE, n), replace=False))
        trust_rows = np.sort(rng.choice(n, min(TRUST_SAMPLE, n), replace=False))
        truth = input_neighbours(X, rows)
        candidates: dict[str, tuple[np.ndarray, float]] = {}
        if reference:
            import umap

            start = time.perf_counter()
            ref_map = umap.UMAP(n_neighbors=50, n_components=2).fit_transform(X)
            candidates["umap-learn"] = (ref_map, time.perf_counter() - start)
        graph = build_graph(X, 50, random_state=seed)
        clustered = layout_graph(graph, pca_init(X, 5, seed), CLUSTERED_EPOCHS, random_state=seed)
        starts = {"5-D layout": layout_start(clustered, 2), "PCA": pca_init(X, 2, seed)}
        for start_name, start_layout in starts.items():
            for epochs in map_epochs:
                start = time.perf_counter()
                layout = layout_graph(graph, start_layout, epochs, random_state=seed)
                candidates[map_name(start_name, epochs)] = (layout, time.perf_counter() - start)
        ref_near = map_neighbours(candidates["umap-learn"][0], rows) if reference else None
        for name, (embedding, seconds) in candidates.items():
            figures = map_figures(X, groups, embedding, rows, truth, trust_rows, ref_near)
            rows_out.append({"n": n, "seed": seed, "map": name, **figures,
                             "seconds": round(seconds, 1)})  # fmt: skip
            logger.info("map %s", rows_out[-1])
            if seed == seeds[0]:
                maps[name] = embedding
        if seed == seeds[0]:
            maps["groups"] = groups
    result: dict[str, Any] = {"rows": rows_out, "n": n, "seeds": list(seeds), "k": K}
    if out is not None and rows_out:
        result["figure"] = str(draw(rows_out, maps, map_epochs, Path(out)))
    return result


def draw(rows: list[dict[str, Any]], maps: dict[str, np.ndarray], map_epochs: Sequence[int],
         out: Path, shown_epochs: int = 100) -> Path:  # fmt: skip
    """``map_faithfulness.png``: the measures against the epochs, and the first seed's maps."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    measures = [("preservation", f"input {K}-NN kept on the map"),
                ("trustworthiness", f"trustworthiness ({K}-NN)"),
                ("planted_purity", f"planted galaxies' {K}-NN in their group")]  # fmt: skip
    fig = plt.figure(figsize=(15, 9))
    for column, (measure, title) in enumerate(measures):
        ax = fig.add_subplot(2, 3, column + 1)
        for start_name, colour in (("5-D layout", "tab:blue"), ("PCA", "tab:orange")):
            ours = [[r[measure] for r in rows if r["map"] == map_name(start_name, e)]
                    for e in map_epochs]  # fmt: skip
            if not all(ours):
                continue
            ax.errorbar(list(map_epochs), [np.mean(v) for v in ours],
                        yerr=[np.ptp(v) / 2 for v in ours], marker="o", color=colour,
                        label=f"raregal map, {start_name} start")  # fmt: skip
        values = [r[measure] for r in rows if r["map"] == "umap-learn"]
        if values:
            ax.axhspan(min(values), max(values), color="k", alpha=0.12)
            ax.axhline(np.mean(values), color="k", lw=1, label="umap-learn 2-D (200 epochs)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(map_epochs), [str(e) for e in map_epochs])
        ax.set_xlabel("map epochs")
        ax.set_title(title, fontsize=10)
        if column == 0:
            ax.legend(fontsize=7)
    groups = maps.get("groups")
    shown = ["umap-learn", map_name("5-D layout", shown_epochs), map_name("PCA", shown_epochs)]
    for column, name in enumerate(n for n in shown if n in maps):
        ax = fig.add_subplot(2, 3, 4 + column)
        embedding = maps[name]
        bulk = groups < 0
        ax.scatter(*embedding[bulk].T, s=0.2, c="0.75", rasterized=True)
        ax.scatter(*embedding[~bulk].T, s=0.8, c=groups[~bulk], cmap="tab10", vmin=0, vmax=9,
                   rasterized=True)  # fmt: skip
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    n = rows[0]["n"]
    fig.suptitle(f"The map against the 128-D representations: {n:,} generated galaxies, "
                 f"{len({r['seed'] for r in rows})} seeds (bands: range over seeds)")  # fmt: skip
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "map_faithfulness.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
