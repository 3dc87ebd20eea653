"""How soon the explorer page is usable for a large run, and how fast its map answers, in Chromium.

``benchmark_explore(n=600_000)`` writes a synthetic run folder of ``n`` galaxies (Gaussian clusters
on the map, uniform noise, a balanced condensed tree over the leaves), serves it, opens the page in
Debian's headless chromium with the flags CI uses (software rendering, no GPU) and reads the page's
own clock: ``page_usable_s`` is the time from navigation to the first drawn map with its cluster
list; ``hover_ready_s`` adds the hover index. It then drives the map with real mouse events (a
drag, wheel turns, mouse moves) and reads the page's frame log: for pan, zoom and hover, the work
per frame (``*_ms``) and the time from the input event to the finished frame (``*_latency_ms``).

The bench harness calls this function; ``python -m raregal.bench.explore --n 600000 2000000
--out benchmarks/results`` writes ``explore.json`` and ``explore.md`` there.
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
from raregal.explore.data import MAX_POINTS
from raregal.explore.points import grid_size
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
        ``page_usable_s_median``, ``hover_ready_s_median``, ``redraw_ms`` (one full redraw of the
        whole map), ``frames`` (``pan``, ``zoom``, ``hover``: count, median and 95th percentile of
        the work per frame and of the input-to-frame latency, in ms, from the last load),
        ``machine``.
    """
    import os
    import platform

    from raregal.explore.serve import BackgroundServer
    from raregal.explore.server import create_app

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        start = time.perf_counter()
        run = synthetic_run(Path(tmp) / "run", n)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        app = create_app(run, build_index=False)
        server_s = time.perf_counter() - start
        sent = len(app.state.run.sent)
        with BackgroundServer(app) as server:
            if browser is not None:
                usable, hover, redraw, frames = _measure_loads(
                    browser, server.url, repeats, viewport
                )
            else:
                from playwright.sync_api import sync_playwright

                with sync_playwright() as p:
                    own = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
                    usable, hover, redraw, frames = _measure_loads(
                        own, server.url, repeats, viewport
                    )
                    own.close()
    result = {
        "n": n,
        "write_run_s": round(write_s, 2),
        "server_start_s": round(server_s, 2),
        "points_mb": round((16 * sent + 4 * (grid_size(sent) ** 2 + 1)) / 1e6, 1),
        "page_usable_s": [round(u, 3) for u in usable],
        "page_usable_s_median": round(float(np.median(usable)), 3),
        "hover_ready_s_median": round(float(np.median(hover)), 3),
        "redraw_ms": round(float(np.median(redraw)), 1),
        "frames": frames,
        "tiles": n > MAX_POINTS,
        "viewport": list(viewport),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    logger.info("explore benchmark: %s", result)
    return result


def _measure_loads(browser: Any, url: str, repeats: int, viewport: tuple[int, int]):
    """Seconds to usable and to hover-ready, ms per redraw, and the frames of the last tab."""
    usable, hover, redraw, frames = [], [], [], {}
    for attempt in range(repeats):
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        usable.append(page.evaluate("window.raregal.ready") / 1000)
        page.wait_for_selector("body[data-hover='1']", timeout=120_000)
        hover.append(page.evaluate("window.raregal.hoverReady") / 1000)
        page.wait_for_selector("body[data-loaded='1']", timeout=120_000)
        redraw.append(
            page.evaluate(
                "() => { const m = window.raregal.map, t = performance.now(); "
                "for (let i = 0; i < 5; i++) m.draw(); return (performance.now() - t) / 5; }"
            )
        )
        if attempt == repeats - 1:
            frames = _measure_frames(page)
        page.close()
    return usable, hover, redraw, frames


def _measure_frames(page: Any) -> dict[str, dict[str, float]]:
    """Drive the map with real mouse events and summarise the page's frame log per kind."""
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("window.raregal.map.frames.length = 0")
    page.mouse.move(cx, cy)
    page.mouse.down()
    for k in range(24):  # a drag: pan
        page.mouse.move(cx + 12 * (k + 1), cy + 5 * (k + 1))
        page.wait_for_timeout(25)
    page.mouse.up()
    page.wait_for_timeout(200)
    for k in range(16):  # wheel turns: zoom in, then out
        page.mouse.wheel(0, -240 if k < 8 else 240)
        page.wait_for_timeout(60)
    page.wait_for_timeout(200)
    for k in range(40):  # the mouse moving over the map: hover
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.015 * k),
                        box["y"] + box["height"] * (0.3 + 0.01 * k))  # fmt: skip
        page.wait_for_timeout(20)
    page.wait_for_timeout(200)
    log = page.evaluate("window.raregal.map.frames")
    out = {}
    for kind in ("pan", "zoom", "hover"):
        ms = np.array([f["ms"] for f in log if f["kind"] == kind], dtype=float)
        latency = np.array([f["latency"] for f in log if f["kind"] == kind], dtype=float)
        if not len(ms):
            out[kind] = {"count": 0}
            continue
        out[kind] = {
            "count": len(ms),
            "median_ms": round(float(np.median(ms)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "median_latency_ms": round(float(np.median(latency)), 1),
            "p95_latency_ms": round(float(np.percentile(latency, 95)), 1),
        }
    return out


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


def write_results(
    results: list[dict[str, Any]], out: str | Path, command: str
) -> tuple[Path, Path]:
    """Write ``explore.json`` and ``explore.md`` (page-usable time and frame times) to ``out``."""
    import datetime as _dt
    import platform
    import subprocess

    from raregal.io.atomic import atomic_path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                                  timeout=30).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        chromium = "unknown"
    record = {
        "benchmark": "explore",
        "command": command,
        "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "browser": f"{chromium} headless, {' '.join(CHROMIUM_ARGS)} (software rendering)",
        "python": platform.python_version(),
        "results": results,
    }
    json_path, md_path = out / "explore.json", out / "explore.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    lines = [
        "# Explorer benchmark",
        "",
        f"`{command}` · {record['written']} · {record['browser']}",
        "",
        "Page usable: navigation to the first drawn map with its cluster list. Frames: work per "
        "frame / time from the input event to the finished frame (median, 95th percentile), "
        "driven by real mouse events on a "
        f"{results[0]['viewport'][0]}x{results[0]['viewport'][1]} page."
        if results
        else "",
        "",
        "| galaxies | points MB | page usable s | redraw ms | pan ms | pan latency ms "
        "| zoom ms | zoom latency ms | hover ms | hover latency ms | machine, load |",
        "|---:|---:|---:|---:|---|---|---|---|---|---|---|",
    ]

    def cell(frames: dict[str, Any], kind: str, key: str) -> str:
        f = frames.get(kind, {})
        if not f.get("count"):
            return "–"
        return f"{f[f'median_{key}']:.1f} / {f[f'p95_{key}']:.1f}"

    for r in results:
        f = r.get("frames", {})
        load = "–".join(f"{v:g}" for v in r.get("load_1min", []))
        tiles = " (density tiles)" if r.get("tiles") else ""
        lines.append(
            f"| {r['n']:,}{tiles} | {r['points_mb']} | {r['page_usable_s_median']:.2f} | "
            f"{r['redraw_ms']:.0f} | {cell(f, 'pan', 'ms')} | {cell(f, 'pan', 'latency_ms')} | "
            f"{cell(f, 'zoom', 'ms')} | {cell(f, 'zoom', 'latency_ms')} | "
            f"{cell(f, 'hover', 'ms')} | {cell(f, 'hover', 'latency_ms')} | "
            f"{r['machine']}, load {load} |"
        )
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def main() -> None:
    """``python -m raregal.bench.explore [--n N ...] [--repeats R] [--out DIR]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[600_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--index-n", type=int, default=0, help="also time the neighbour index")
    parser.add_argument("--out", default=None, help="write explore.json and explore.md here")
    args = parser.parse_args()
    pages = [benchmark_explore(n, args.repeats) for n in args.n]
    result: dict[str, Any] = {"pages": pages}
    if args.index_n:
        result["neighbours"] = benchmark_neighbours(args.index_n)
    if args.out:
        command = "python -m raregal.bench.explore " + " ".join(sys.argv[1:])
        write_results(pages, args.out, command)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
