"""How soon the explorer page is usable for a large run, measured in real headless Chromium.

``benchmark_explore(n=600_000)`` writes a synthetic run folder of ``n`` galaxies (Gaussian clusters
on the map, uniform noise, a balanced condensed tree over the leaves), serves it, opens the page in
Debian's chromium and reads the page's own clock: ``page_usable_s`` is the time from navigation to
the first drawn map with its cluster list; ``hover_ready_s`` adds the hover index. The bench
harness calls this function; ``python -m raregal.explore.benchmark --n 600000`` prints the figures
as JSON.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import NOISE
from raregal.io.runfolder import RunFolder, cluster_letter
from raregal.io.tables import write_table

logger = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def synthetic_run(
    path: str | Path,
    n: int,
    n_clusters: int = 40,
    noise_fraction: float = 0.4,
    seed: int = 0,
    images: list[str] | None = None,
) -> Path:
    """Write a run folder of ``n`` synthetic galaxies for benchmarks (not a real search result).

    Parameters
    ----------
    path : path-like
        The folder to write (``galaxies``, ``clusters`` and ``condensed_tree`` tables).
    n : int
        Number of galaxies.
    n_clusters : int, default=40
        Leaf clusters; sizes fall off geometrically, like rare classes.
    noise_fraction : float, default=0.4
        Share of galaxies outside every cluster.
    seed : int, default=0
    images : list of str, optional
        Image paths given to the galaxies in turn as ``file_loc``.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    n_noise = int(n * noise_fraction)
    weights = 0.9 ** np.arange(n_clusters)
    sizes = np.maximum(10, np.floor(weights / weights.sum() * (n - n_noise))).astype(int)
    sizes[0] += n - n_noise - sizes.sum()
    centres = rng.uniform(-10, 10, (n_clusters, 2))
    spread = rng.uniform(0.15, 0.6, n_clusters)
    labels = np.concatenate(
        [np.full(s, k) for k, s in enumerate(sizes)] + [np.full(n_noise, NOISE)]
    )
    xy = np.concatenate(
        [centres[k] + rng.normal(0, spread[k], (s, 2)) for k, s in enumerate(sizes)]
        + [rng.uniform(-12, 12, (n_noise, 2))]
    )
    order = rng.permutation(n)
    labels, xy = labels[order], xy[order]
    galaxies = pd.DataFrame(
        {
            "id_str": [f"syn{i:07d}" for i in range(n)],
            "cluster": labels,
            "probability": np.where(labels >= 0, rng.uniform(0.2, 1, n), 0.0),
            "outlier_score": rng.uniform(0, 1, n),
            "umap_0": xy[:, 0],
            "umap_1": xy[:, 1],
            "map_x": xy[:, 0],
            "map_y": xy[:, 1],
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-30, 60, n),
        }
    )
    if images:
        galaxies["file_loc"] = [images[i % len(images)] for i in range(n)]
    run = RunFolder(path)
    run.write_table("galaxies", galaxies)
    tree, nodes, parents = _balanced_tree(labels, n_clusters, n)
    run.write_table("condensed_tree", tree)
    birth = rng.uniform(0.1, 1.0, n_clusters)
    persistence = rng.uniform(0.05, 0.6, n_clusters)
    medoids = np.array([np.flatnonzero(labels == k)[0] for k in range(n_clusters)])
    clusters = pd.DataFrame(
        {
            "cluster": np.arange(n_clusters),
            "letter": [cluster_letter(k) for k in range(n_clusters)],
            "size": sizes,
            "lambda_birth": birth,
            "lambda_death": birth + persistence,
            "persistence": persistence,
            "stability": persistence * sizes,
            "node": nodes,
            "parent": parents,
            "medoid_row": medoids,
            "medoid_id": galaxies["id_str"].to_numpy()[medoids],
            "mean_probability": rng.uniform(0.3, 0.9, n_clusters),
        }
    )
    run.write_table("clusters", clusters)
    run.save()
    return path


def _balanced_tree(labels: np.ndarray, n_clusters: int, n: int):
    """A condensed tree (hdbscan's layout) joining the leaves pairwise up to the root ``n``."""
    rows: list[tuple[int, int, float, int]] = []
    next_id = [n + 1]
    leaf_node = np.zeros(n_clusters, dtype=np.int64)
    leaf_parent = np.zeros(n_clusters, dtype=np.int64)
    size = np.bincount(labels[labels >= 0], minlength=n_clusters)

    def split(node: int, leaves: list[int], depth: int) -> None:
        halves = [leaves[: len(leaves) // 2], leaves[len(leaves) // 2 :]]
        for half in halves:
            child = next_id[0]
            next_id[0] += 1
            rows.append((node, child, 0.1 * (depth + 1), int(size[half].sum())))
            if len(half) == 1:
                leaf_node[half[0]], leaf_parent[half[0]] = child, node
            else:
                split(child, half, depth + 1)

    split(n, list(range(n_clusters)), 0)
    points = np.arange(n)
    clustered = labels >= 0
    point_parent = np.where(clustered, leaf_node[np.maximum(labels, 0)], n)
    tree = pd.DataFrame(rows, columns=["parent", "child", "lambda_val", "child_size"])
    point_rows = pd.DataFrame(
        {
            "parent": point_parent,
            "child": points,
            "lambda_val": np.where(clustered, 2.0, 0.05),
            "child_size": 1,
        }
    )
    return pd.concat([tree, point_rows], ignore_index=True), leaf_node, leaf_parent


def benchmark_explore(
    n: int = 600_000,
    repeats: int = 3,
    workdir: str | Path | None = None,
    viewport: tuple[int, int] = (1400, 850),
    browser: Any = None,
) -> dict[str, Any]:
    """Time from navigation to a usable page for an ``n``-galaxy run, in headless Chromium.

    Parameters
    ----------
    n : int, default=600_000
        Galaxies in the synthetic run.
    repeats : int, default=3
        Page loads measured (each a fresh browser tab against the same server).
    workdir : path-like, optional
        Where to write the run folder (a temporary folder by default).
    viewport : (int, int), default=(1400, 850)
    browser : playwright Browser, optional
        A browser already launched (one is launched from /usr/bin/chromium otherwise).

    Returns
    -------
    dict
        ``n``, ``write_run_s``, ``server_start_s``, ``points_mb``, ``page_usable_s`` (each load),
        ``page_usable_s_median``, ``hover_ready_s_median``, ``redraw_ms`` (one full redraw, as
        when panning), ``machine``.
    """
    import os
    import platform

    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        start = time.perf_counter()
        run = synthetic_run(Path(tmp) / "run", n)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        app = create_app(run, build_index=False)
        server_s = time.perf_counter() - start
        with BackgroundServer(app) as server:
            if browser is not None:
                usable, hover, redraw = _measure_loads(browser, server.url, repeats, viewport)
            else:
                from playwright.sync_api import sync_playwright

                with sync_playwright() as p:
                    own = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
                    usable, hover, redraw = _measure_loads(own, server.url, repeats, viewport)
                    own.close()
    result = {
        "n": n,
        "write_run_s": round(write_s, 2),
        "server_start_s": round(server_s, 2),
        "points_mb": round(n * 12 / 1e6, 1),
        "page_usable_s": [round(u, 3) for u in usable],
        "page_usable_s_median": round(float(np.median(usable)), 3),
        "hover_ready_s_median": round(float(np.median(hover)), 3),
        "redraw_ms": round(float(np.median(redraw)), 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
    }
    logger.info("explore benchmark: %s", result)
    return result


def _measure_loads(browser: Any, url: str, repeats: int, viewport: tuple[int, int]):
    """Seconds to usable and to hover-ready, and ms per redraw, for ``repeats`` fresh tabs."""
    usable, hover, redraw = [], [], []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        usable.append(page.evaluate("window.raregal.ready") / 1000)
        page.wait_for_selector("body[data-hover='1']", timeout=60_000)
        hover.append(page.evaluate("window.raregal.hoverReady") / 1000)
        redraw.append(
            page.evaluate(
                "() => { const t = performance.now(); for (let i = 0; i < 5; i++) "
                "window.raregal.draw(); return (performance.now() - t) / 5; }"
            )
        )
        page.close()
    return usable, hover, redraw


def benchmark_neighbours(
    n: int = 100_000, dim: int = 128, queries: int = 50, k: int = 24, seed: int = 0
) -> dict[str, Any]:
    """Build time, query time and recall@k of the 'more like this' index on ``n`` x ``dim`` vectors.

    The vectors are Gaussian clusters (as in ``synthetic_run``) lifted to ``dim`` dimensions by a
    seeded random map; recall is measured against exact neighbours for ``queries`` galaxies.
    """
    from raregal.explore.data import ExploreRun
    from raregal.explore.neighbours import NeighbourIndex

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        run = synthetic_run(Path(tmp) / "run", n, seed=seed)
        galaxies = pd.read_parquet(run / "galaxies.parquet", columns=["id_str", "map_x", "map_y"])
        latent = np.column_stack([galaxies.map_x, galaxies.map_y, rng.normal(0, 1, (n, 6))])
        feats = (latent @ rng.normal(size=(latent.shape[1], dim))).astype(np.float32)
        feats += rng.normal(0, 0.1, feats.shape).astype(np.float32)
        table = pd.DataFrame(feats, columns=[f"feat_{j}" for j in range(dim)])
        table.insert(0, "id_str", galaxies["id_str"])
        write_table(table, run / "representations.parquet")
        index = NeighbourIndex(ExploreRun(run))
        start = time.perf_counter()
        index.ensure()
        build_s = time.perf_counter() - start
        rows = rng.choice(n, queries, replace=False)
        start = time.perf_counter()
        found = [index.query(int(r), k)[0] for r in rows]
        query_ms = (time.perf_counter() - start) / queries * 1000
        hits = 0
        for r, got in zip(rows, found, strict=True):
            d = ((feats - feats[r]) ** 2).sum(axis=1)
            d[r] = np.inf
            hits += len(set(got.tolist()) & set(np.argpartition(d, k)[:k].tolist()))
        start = time.perf_counter()
        NeighbourIndex(ExploreRun(run)).ensure()
        load_s = time.perf_counter() - start
    result = {
        "n": n,
        "dim": dim,
        "build_s": round(build_s, 2),
        "load_cached_s": round(load_s, 2),
        "query_ms": round(query_ms, 2),
        f"recall_at_{k}": round(hits / (queries * k), 3),
    }
    logger.info("neighbour index benchmark: %s", result)
    return result


def main() -> None:
    """Command-line entry: ``python -m raregal.explore.benchmark [--n N] [--repeats R]``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--index-n", type=int, default=0, help="also time the neighbour index")
    args = parser.parse_args()
    result = {"page": benchmark_explore(args.n, args.repeats)}
    if args.index_n:
        result["neighbours"] = benchmark_neighbours(args.index_n)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
