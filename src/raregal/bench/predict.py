"""Predict suite: new galaxies placed into an existing run (``raregal.predict``).

Quality, on the benchmark's representations with planted groups and (``image_n``) on the demo's
simulated survey through the bundled encoder: a search on 80% of each class (the run), then
``predict`` of

- the run's own galaxies: the share that get back their fitted cluster (or noise);
- the 20% withheld: for each planted group the run recovers, the share of its held-out members
  that reach its pure leaves (the clusters that recover it) against the share of its fitted
  members, and how pure those leaves stay with the held-out galaxies in them; the clustered
  share of held-out against fitted galaxies;
- a batch check: a few held-out galaxies alone against the same in the whole batch.

Speed: ``predict_n`` new galaxies placed into a run of ``fit_n`` galaxies (one draw of
``fit_n + predict_n`` split at random, so the new ones come from the run's distribution), from a
Parquet file to the written table, in one call as the command does (after a call on 200 others,
so that numba's compilation is not timed).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.bench.quality import class_names, quality_data
from raregal.config import scale_for_sample
from raregal.constants import ID_COLUMN, NOT_SELECTED

logger = logging.getLogger(__name__)

HELD_OUT = 0.2
CLASS_FIGURES = ("pure_leaves", "held_out", "fitted_rate", "held_out_rate", "ratio",
                 "fitted_purity", "held_out_purity")  # fmt: skip


def _table(X: np.ndarray, groups: np.ndarray, prefix: str) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=[f"feat_{i}" for i in range(X.shape[1])])
    df.insert(0, ID_COLUMN, [f"{prefix}{i}" for i in range(len(X))])
    df["true_class"] = class_names(groups)
    return df


def held_out_split(groups: np.ndarray, fraction: float = HELD_OUT, seed: int = 1) -> np.ndarray:
    """A mask of ``fraction`` of the rows of each class (bulk included), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(groups), dtype=bool)
    for value in np.unique(groups):
        rows = np.flatnonzero(groups == value)
        held[rng.choice(rows, round(fraction * len(rows)), replace=False)] = True
    return held


def _fit(df: pd.DataFrame, run: Path, **params: Any) -> Any:
    from raregal.search import run_search

    if not params:
        min_samples, min_cluster_size = scale_for_sample(len(df))
        params = {"min_samples": min_samples, "min_cluster_size": min_cluster_size}
    return run_search(df, run, **params)


def held_out_quality(
    df: pd.DataFrame, run: Path, classes: list[str], level: str, **params: Any
) -> dict[str, Any]:
    """A search on 80% of each class of ``df`` into ``run``, then ``predict`` of the fitted and
    the held-out galaxies (see the module); ``params`` are the search's (default: the density
    parameters scaled to the fitted count)."""
    from raregal.predict import FittedRun, place_galaxies
    from raregal.recovery import recovery_summary

    held = held_out_split(df["true_class"].astype(str).to_numpy())
    start = time.perf_counter()
    search = _fit(df[~held].reset_index(drop=True), run, **params)
    fit_s = time.perf_counter() - start
    fitted = FittedRun.from_run(search.run_path_)
    start = time.perf_counter()
    own = place_galaxies(fitted, df[~held]).table.set_index(ID_COLUMN).loc[search.ids_]
    self_s = time.perf_counter() - start
    agreement = float((own["cluster"].to_numpy() == search.labels_).mean())
    new = place_galaxies(fitted, df[held].reset_index(drop=True)).table
    galaxies = search.galaxies_
    _, summary = recovery_summary(galaxies, classes=classes)
    rows = []
    for row in summary.itertuples():
        if not row.recovered:
            rows.append({"level": level, "class": row.true_class, "recovered_by_the_run": False,
                         **dict.fromkeys(CLASS_FIGURES)})  # fmt: skip
            continue
        leaves = [int(c) for c in row.clusters.split(",")]
        fitted_rate = galaxies.loc[galaxies["true_class"] == row.true_class, "cluster"].isin(
            leaves).mean()  # fmt: skip
        mine = new[(new["true_class"] == row.true_class) & (new["cluster"] != NOT_SELECTED)]
        held_rate = mine["cluster"].isin(leaves).mean()
        in_leaves = new[new["cluster"].isin(leaves)]
        rows.append({
            "level": level, "class": row.true_class, "recovered_by_the_run": True,
            "pure_leaves": len(leaves), "held_out": len(mine),
            "fitted_rate": round(float(fitted_rate), 3),
            "held_out_rate": round(float(held_rate), 3),
            "ratio": round(float(held_rate / fitted_rate), 3) if fitted_rate else None,
            "fitted_purity": round(float((galaxies.loc[galaxies["cluster"].isin(leaves),
                                                       "true_class"] == row.true_class).mean()), 3),
            "held_out_purity": (round(float((in_leaves["true_class"] == row.true_class).mean()), 3)
                                if len(in_leaves) else None),
        })  # fmt: skip
    selected = new[new["cluster"] != NOT_SELECTED]
    sample = selected[ID_COLUMN].iloc[:20].tolist()
    alone = pd.concat([place_galaxies(fitted, df[df[ID_COLUMN] == i]).table for i in sample])
    together = selected.set_index(ID_COLUMN).loc[sample]
    coordinates = [c for c in together.columns if str(c).startswith(("umap_", "map_"))]
    drift = float(np.abs(alone.set_index(ID_COLUMN)[coordinates].to_numpy()
                         - together[coordinates].to_numpy()).max())  # fmt: skip
    same_labels = bool((alone["cluster"].to_numpy() == together["cluster"].to_numpy()).all())
    ratios = [r["ratio"] for r in rows if r.get("ratio") is not None]
    figures = {
        "level": level, "n": len(df), "fitted": int((~held).sum()), "held_out": int(held.sum()),
        "min_samples": search.params_used_["min_samples"], "fit_s": round(fit_s, 1),
        "self_agreement": round(agreement, 4), "self_predict_s": round(self_s, 2),
        "planted_recovered_by_the_run": len(ratios),
        "min_held_out_ratio": min(ratios, default=None),
        "fitted_clustered": round(float((search.labels_ >= 0).mean()), 4),
        "held_out_clustered": round(float((selected["cluster"] >= 0).mean()), 4),
        "batch_max_coordinate_change": drift, "batch_same_labels": same_labels,
    }  # fmt: skip
    logger.info("predict quality %s", figures)
    return {"figures": figures, "classes": rows}


def predict_quality(n: int, work: Path, data_seed: int = 0) -> dict[str, Any]:
    """``held_out_quality`` on ``n`` generated representations with planted groups."""
    X, groups = quality_data(n, data_seed)
    df = _table(X, groups, "g")
    classes = sorted(c for c in set(df["true_class"]) if c != "bulk")
    return held_out_quality(df, work / f"predict_quality_n{n}", classes, "representations")


def predict_image_quality(n: int, work: Path, seed: int = 0) -> dict[str, Any]:
    """``held_out_quality`` on the demo's simulated survey of ``n`` galaxies, embedded by the
    bundled encoder, with the demo's search parameters and the paper's selection."""
    from raregal.demo import DEMO_SEARCH, demo, planted_classes

    result = demo(work / f"predict_demo_n{n}", n=n, seed=seed, report=False, n_seeds=1)
    reps = pd.read_parquet(result.run_dir / "representations.parquet")
    params = {k: v for k, v in DEMO_SEARCH.items() if k != "n_seeds"}
    return held_out_quality(reps, work / f"predict_demo_fit_n{n}", planted_classes(False),
                            "images", **params)  # fmt: skip


def predict_speed(fit_n: int, predict_n: int, work: Path, data_seed: int = 0) -> dict[str, Any]:
    """Seconds to place ``predict_n`` new galaxies into a run of ``fit_n`` (see the module)."""
    from raregal.predict import predict

    X, groups = quality_data(fit_n + predict_n, data_seed)
    table = _table(X, groups, "g")
    new = np.zeros(len(X), dtype=bool)
    new[np.random.default_rng(2).choice(len(X), predict_n, replace=False)] = True
    run = work / f"predict_speed_n{fit_n}_{predict_n}"
    start = time.perf_counter()
    search = _fit(table[~new].reset_index(drop=True), run)
    fit_s = time.perf_counter() - start
    path = work / f"predict_new_n{fit_n}_{predict_n}.parquet"
    table[new].to_parquet(path)
    warm = work / "predict_warm.parquet"
    table[~new].iloc[:200].to_parquet(warm)
    predict(run, warm)  # compile once, as a warm process would have
    start = time.perf_counter()
    result = predict(run, path, out=work / "predict_out.parquet")
    seconds = time.perf_counter() - start
    figures = {
        "fit_n": fit_n, "predict_n": predict_n, "fit_s": round(fit_s, 1),
        "predict_s": round(seconds, 2), "galaxies_per_s": round(predict_n / seconds),
        **{f"{k}_s": v for k, v in result.seconds.items()},
        "new_clustered": round(result.counts["clustered"] / predict_n, 4),
        "fitted_clustered": round(float((search.labels_ >= 0).mean()), 4),
        "out_of_reach": result.counts["out_of_reach"],
    }  # fmt: skip
    logger.info("predict speed %s", figures)
    return figures


def run_predict(
    n: int, work: Path, fit_n: int, predict_n: int, image_n: int = 0, data_seed: int = 0
) -> dict[str, Any]:
    """The predict suite: quality at ``n`` generated rows (and on the demo's survey of
    ``image_n`` galaxies when not 0), speed of ``predict_n`` into ``fit_n``."""
    work.mkdir(parents=True, exist_ok=True)
    levels = [predict_quality(n, work, data_seed)]
    if image_n:
        levels.append(predict_image_quality(image_n, work, data_seed))
    speed = predict_speed(fit_n, predict_n, work, data_seed)
    return {"rows": [level["figures"] for level in levels],
            "tables": [{"title": "held-out members of each planted group",
                        "rows": [row for level in levels for row in level["classes"]]},
                       {"title": "speed", "rows": [speed]}]}  # fmt: skip
