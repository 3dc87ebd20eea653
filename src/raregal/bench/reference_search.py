"""The paper's search as a user of the reference libraries writes it (a standalone script).

``python reference_search.py TABLE OUT --min-samples N [--min-cluster-size 10]``

Reads the representation table, removes smooth, edge-on and artifact galaxies with the paper's
thresholds (when the vote fractions are there), fits ``umap.UMAP(n_neighbors=50,
n_components=5)`` and ``umap.UMAP(n_neighbors=50, n_components=2)`` on the representations, runs
``hdbscan.HDBSCAN(min_samples, min_cluster_size=10, cluster_selection_method='leaf')`` on the 5-D
layout and writes ``OUT/galaxies.parquet`` (id_str, cluster, probability, outlier_score, the
5-D and 2-D coordinates) and ``OUT/timings.json`` (seconds per step, from the start of the
interpreter's work on this file).

It imports neither raregal nor anything raregal adds: the benchmark (``raregal.bench.command``)
runs it as a file, in its own process, against ``raregal search`` on the same table. The UMAPs
get no ``random_state``, as written in the paper's recipe, so umap-learn runs on every core (a
seed would make it fall back to one thread).
"""

import argparse
import json
import os
import time

START = time.perf_counter()

import hdbscan  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import umap  # noqa: E402

IMPORTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("out")
    parser.add_argument("--min-samples", type=int, required=True)
    parser.add_argument("--min-cluster-size", type=int, default=10)
    args = parser.parse_args()
    timings = {"import": IMPORTED - START}

    step = time.perf_counter()
    df = pd.read_parquet(args.table)
    timings["read"] = time.perf_counter() - step

    step = time.perf_counter()
    if "smooth-or-featured_smooth_fraction" in df.columns:
        removed = (
            (df["smooth-or-featured_smooth_fraction"] >= 0.5)
            | (df["disk-edge-on_yes_fraction"] >= 0.3)
            | (df["smooth-or-featured_artifact_fraction"] >= 0.3)
        )
        df = df[~removed]
    features = [c for c in df.columns if c.startswith("feat_")]
    X = df[features].to_numpy(np.float32)
    timings["select"] = time.perf_counter() - step

    step = time.perf_counter()
    embedding = umap.UMAP(n_neighbors=50, n_components=5).fit_transform(X)
    timings["umap_5d"] = time.perf_counter() - step

    step = time.perf_counter()
    map_2d = umap.UMAP(n_neighbors=50, n_components=2).fit_transform(X)
    timings["umap_2d"] = time.perf_counter() - step

    step = time.perf_counter()
    clusterer = hdbscan.HDBSCAN(min_samples=args.min_samples,
                                min_cluster_size=args.min_cluster_size,
                                cluster_selection_method="leaf").fit(embedding)  # fmt: skip
    timings["hdbscan"] = time.perf_counter() - step

    step = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    out = pd.DataFrame({"id_str": df["id_str"].to_numpy(), "cluster": clusterer.labels_,
                        "probability": clusterer.probabilities_,
                        "outlier_score": clusterer.outlier_scores_})  # fmt: skip
    for i in range(embedding.shape[1]):
        out[f"umap_{i}"] = embedding[:, i]
    out["map_x"], out["map_y"] = map_2d[:, 0], map_2d[:, 1]
    out.to_parquet(os.path.join(args.out, "galaxies.parquet"), index=False)
    timings["write"] = time.perf_counter() - step
    timings["total_in_script"] = time.perf_counter() - START
    with open(os.path.join(args.out, "timings.json"), "w") as handle:
        json.dump({k: round(v, 3) for k, v in timings.items()}, handle, indent=1)


if __name__ == "__main__":
    main()
