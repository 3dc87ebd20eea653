"""Discovery suite: search from examples, the weirdest-first queue and the cluster ranking, on the
demo survey (simulated images through the bundled encoder) where the planted classes are known.

**Search from examples.** For each planted rare class and each repeat, 3 random members are the
examples; a simulated user answers ``round_size`` candidates per round for ``rounds`` rounds,
from ``true_class`` (used by the simulated user only, never by the model). After each round:
found@50, found@100 (members among the first 50 and 100 of the ranking) and recall at N = class
size; the examples and the answered galaxies count as found only if they are members. Against:
(a) the leaf clusters holding the examples (their members by probability after the examples),
(b) the examples' nearest neighbours in the representation (distance to the nearest example, as
the explorer's 'more like this'), (c) one fit on the examples alone (round 0). Every encoded
galaxy is ranked, those the selection removed included.

**Queue.** Over every encoded galaxy (artifacts included): planted rare and artifact galaxies
among the first 100 of the queue, and how many classes they cover, against an isolation forest
and against the rarity score without the variety ordering.

**Cluster ranking.** Where each recovered planted class's best pure cluster lands in the order
of display (``interest_rank``).

``ceiling_recall`` is the recall at N of the same linear model fitted with every galaxy labelled
(and measured on those galaxies): where it is low, the representation does not separate the
class, and no number of answers will.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

EXAMPLES = 3
ROUNDS = 5
ROUND_SIZE = 20
REPEATS = 3
QUEUE_TOP = 100
SCALE_N = 1_000_000
"""Generated galaxies of the timing table (one million: a large survey's selection, or a tenth of
the GZ DESI catalog)."""


def demo_run(work: Path, seed: int, n: int | None = None) -> Path:
    """The demo's run folder for ``seed`` under ``work`` (made once; later calls reuse it)."""
    from raregal.demo import DEMO_N, demo

    out = work / f"demo_seed{seed}" / "run"
    if not (out / "clusters.parquet").exists() or not (out / "recovery.csv").exists():
        demo(out=out, n=n or DEMO_N, seed=seed, report=False)
    return out


def _truth(encoded: Any) -> np.ndarray:
    if "true_class" not in encoded.catalog.columns:
        from raregal.errors import InputError

        raise InputError("the discovery suite needs true_class (a simulated survey)",
                         path=encoded.source, column="true_class")  # fmt: skip
    return encoded.catalog["true_class"].astype(str).to_numpy()


def _found(order: np.ndarray, members: np.ndarray, k: int) -> int:
    return int(np.isin(order[:k], members).sum())


def simulate_user(
    data: Any, truth: np.ndarray, name: str, seeds: np.ndarray, params: dict[str, Any],
    rounds: int = ROUNDS, round_size: int = ROUND_SIZE,
) -> list[np.ndarray]:  # fmt: skip
    """Rankings after round 0 (the examples alone) and after each answered round."""
    from raregal.discover.examples import fit_linear, next_round, ranking

    positive, negative = list(seeds), []
    orders = []
    for round_ in range(rounds + 1):
        pos, neg = np.array(positive, np.int64), np.array(negative, np.int64)
        scores = data.scores(fit_linear(data, pos, neg, params["alpha"],
                                        params["unlabelled_weight"]))  # fmt: skip
        orders.append(ranking(scores, pos, neg))
        if round_ == rounds:
            break
        labelled = np.zeros(len(truth), dtype=bool)
        labelled[pos] = True
        labelled[neg] = True
        shown, _ = next_round(scores, labelled, round_size, params["uncertain_share"])
        for row in shown:
            (positive if truth[row] == name else negative).append(int(row))
    return orders


def ceiling(data: Any, truth: np.ndarray, name: str, params: dict[str, Any]) -> float:
    """Recall at N of the same model told every answer (all members positive, all others
    negative) and scored on the galaxies it was fitted on: what answers alone could reach."""
    from raregal.discover.examples import fit_linear

    members = np.flatnonzero(truth == name)
    others = np.flatnonzero(truth != name)
    scores = data.scores(fit_linear(data, members, others, params["alpha"], 0.0))
    top = np.argsort(-scores, kind="stable")[: len(members)]
    return round(float(np.isin(top, members).mean()), 3)


def leaf_ranking(encoded: Any, seeds: np.ndarray) -> np.ndarray:
    """The examples, then the members of the leaf clusters holding them by probability."""
    clusters = {int(c) for c in encoded.cluster[seeds] if c >= 0}
    members = np.flatnonzero(np.isin(encoded.cluster, list(clusters)))
    members = members[~np.isin(members, seeds)]
    members = members[np.argsort(-np.nan_to_num(encoded.probability[members]), kind="stable")]
    return np.concatenate([seeds, members])


def neighbour_ranking(X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Every galaxy by its distance to the nearest example (the examples first)."""
    from scipy.spatial.distance import cdist

    distance = cdist(X, X[seeds]).min(axis=1)
    distance[seeds] = -1.0
    return np.argsort(distance, kind="stable")


def example_search(encoded: Any, classes: Sequence[str], repeats: int, seed: int
                   ) -> list[dict[str, Any]]:  # fmt: skip
    """One row per planted class: the figures of the module docstring, averaged over repeats."""
    from raregal.config import validate_discovery
    from raregal.discover.examples import Standardised

    truth = _truth(encoded)
    params = validate_discovery({})
    data = Standardised.of(encoded.X)
    rows = []
    for name in classes:
        members = np.flatnonzero(truth == name)
        n = len(members)
        if n < EXAMPLES + 1:
            continue
        figures: dict[str, list[float]] = {}
        for repeat in range(repeats):
            rng = np.random.default_rng([seed, repeat, n])
            seeds = np.sort(rng.choice(members, EXAMPLES, replace=False))
            rankings = {"leaves": leaf_ranking(encoded, seeds),
                        "neighbours": neighbour_ranking(encoded.X, seeds)}  # fmt: skip
            orders = simulate_user(data, truth, name, seeds, params)
            rankings["seeds_alone"] = orders[0]
            rankings["rounds"] = orders[-1]
            for label, order in rankings.items():
                for key, value in (("found50", _found(order, members, 50)),
                                   ("found100", _found(order, members, 100)),
                                   ("recall", _found(order, members, n) / n)):  # fmt: skip
                    figures.setdefault(f"{label}_{key}", []).append(value)
            for round_, order in enumerate(orders):
                recall = _found(order, members, n) / n
                figures.setdefault(f"recall_round{round_}", []).append(recall)
        row: dict[str, Any] = {"class": name, "members": n,
                               "selected": int(encoded.selected[members].sum()),
                               "ceiling_recall": ceiling(data, truth, name, params)}
        row.update({key: round(float(np.mean(values)), 3) for key, values in figures.items()})
        rows.append(row)
        logger.info("example search %s", row)
    return rows


def queue_figures(encoded: Any, planted: Sequence[str], top: int = QUEUE_TOP
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """Planted galaxies among the first ``top`` of the queue and of its baselines."""
    from raregal.config import validate_discovery
    from raregal.discover.anomaly import isolation_forest_scores, rarity_scores, variety_queue

    truth = _truth(encoded)
    params = validate_discovery({})
    start = time.perf_counter()
    rarity = rarity_scores(encoded.X, params["anomaly_neighbors"], params["rare_fraction"],
                           params["random_state"])  # fmt: skip
    queue = variety_queue(encoded.X, rarity, params["queue_length"], params["queue_pool"],
                          params["variety_neighbors"], params["variety_width"])  # fmt: skip
    seconds = time.perf_counter() - start
    forest = isolation_forest_scores(encoded.X, params["random_state"])
    orders = {
        "queue (rarity + variety)": queue,
        "rarity score alone": np.argsort(-rarity, kind="stable"),
        "isolation forest": np.argsort(-forest, kind="stable"),
        "isolation forest + variety": variety_queue(
            encoded.X, forest, params["queue_length"], params["queue_pool"],
            params["variety_neighbors"], params["variety_width"]),
    }  # fmt: skip
    rows = []
    for label, order in orders.items():
        first = truth[order[:top]]
        hits = pd.Series(first[np.isin(first, list(planted))]).value_counts()
        rows.append({"method": label, "planted_in_top": int(hits.sum()),
                     "classes": len(hits), "composition": ", ".join(
                         f"{k} {v}" for k, v in hits.items())})  # fmt: skip
    rows[0]["seconds"] = round(seconds, 2)
    return rows


def cluster_ranks(run_dir: Path) -> list[dict[str, Any]]:
    """Best place, in the order of display, of each recovered planted class's pure clusters."""
    from raregal.discover.queue import rerank_clusters
    from raregal.io.runfolder import RunFolder
    from raregal.recovery import MIN_PURITY

    clusters, _ = rerank_clusters(run_dir)
    run = RunFolder.open(run_dir)
    recovery = run.read_table("recovery")
    summary = pd.DataFrame(run.record.get("recovery", []))
    rank = clusters.set_index("cluster")["interest_rank"]
    described = clusters.set_index("cluster")["description"]
    rows = []
    for name in summary.loc[summary["recovered"], "true_class"] if len(summary) else []:
        pure = recovery[(recovery["true_class"] == name) & (recovery["purity"] >= MIN_PURITY)]
        best = int(pure["cluster"].map(rank).min())
        first = pure.loc[pure["cluster"].map(rank).idxmin(), "cluster"]
        rows.append({"class": name, "best_rank": best, "of": len(clusters),
                     "size_rank": int(first) + 1, "description": described[first]})  # fmt: skip
    return rows


def scale_figures(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Seconds of each step at ``n`` generated 128-D representations (``raregal.synthetic``)."""
    from raregal.config import validate_discovery
    from raregal.discover.anomaly import rarity_scores, variety_queue
    from raregal.discover.examples import Standardised, fit_linear, next_round
    from raregal.synthetic import make_representations

    table = make_representations(n, n_features=128, seed=seed)
    X = table[[c for c in table.columns if c.startswith("feat_")]].to_numpy(np.float32)
    members = np.flatnonzero(table["group"].to_numpy() == 0)
    params = validate_discovery({})
    steps: dict[str, float] = {}
    start = time.perf_counter()
    scores = rarity_scores(X, params["anomaly_neighbors"], params["rare_fraction"])
    steps["rarity score (every galaxy)"] = time.perf_counter() - start
    start = time.perf_counter()
    variety_queue(X, scores, params["queue_length"], params["queue_pool"],
                  params["variety_neighbors"], params["variety_width"])  # fmt: skip
    steps["variety queue (first 1000 places)"] = time.perf_counter() - start
    start = time.perf_counter()
    data = Standardised.of(X)
    steps["standardise + Gram matrix (once per session)"] = time.perf_counter() - start
    start = time.perf_counter()
    ranked = data.scores(fit_linear(data, members[:3], np.empty(0, np.int64)))
    next_round(ranked, np.zeros(n, dtype=bool))
    steps["one refit, scoring every galaxy, next round"] = time.perf_counter() - start
    return [{"n": n, "step": k, "seconds": round(v, 2)} for k, v in steps.items()]


def run_discovery(work: Path, seeds: Sequence[int], quick: bool = False,
                  scale_n: int = SCALE_N) -> dict[str, Any]:  # fmt: skip
    """The discovery suite (see the module docstring) on the demo survey of each seed."""
    from raregal.demo import planted_classes
    from raregal.discover.data import load_encoded
    from raregal.simulate.classes import ARTIFACT_CLASSES, RARE_CLASSES

    n = 3000 if quick else None
    repeats = 1 if quick else REPEATS
    rows, tables = [], []
    for seed in seeds:
        run_dir = demo_run(work / "discovery", seed, n)
        encoded = load_encoded(run_dir)
        for row in example_search(encoded, planted_classes(False), repeats, seed):
            rows.append({"seed": seed, **row})
        queue = queue_figures(encoded, RARE_CLASSES + ARTIFACT_CLASSES)
        title = (f"weirdest-first queue, first {QUEUE_TOP} of every encoded galaxy (seed {seed}, "
                 f"{encoded.n:,} galaxies)")  # fmt: skip
        tables.append({"title": title, "rows": queue})
        tables.append({"title": f"cluster ranking: best place of each recovered class "
                                f"(seed {seed})", "rows": cluster_ranks(run_dir)})  # fmt: skip
    summary = []
    for seed in seeds:
        mine = [r for r in rows if r["seed"] == seed]
        summary.append({
            "seed": seed, "classes": len(mine),
            "recall_at_N_at_least_0.9": sum(r["rounds_recall"] >= 0.9 for r in mine),
            "better_than_neighbours": sum(r["rounds_recall"] > r["neighbours_recall"]
                                          for r in mine),
            "not_worse_than_neighbours": sum(r["rounds_recall"] >= r["neighbours_recall"]
                                             for r in mine),
            "ceiling_at_least_0.9": sum(r["ceiling_recall"] >= 0.9 for r in mine),
        })  # fmt: skip
    tables.insert(0, {"title": "search from examples: classes meeting the targets",
                      "rows": summary})  # fmt: skip
    if scale_n:
        size = 20_000 if quick else scale_n
        tables.append({"title": f"time of each step at {size:,} generated 128-D representations",
                       "rows": scale_figures(size)})  # fmt: skip
    note = (f"{EXAMPLES} random members per class, {REPEATS if not quick else 1} repeats, "
            f"{ROUNDS} rounds of {ROUND_SIZE} simulated answers; figures averaged over repeats. "
            "'rounds' = after the last round; 'seeds_alone' = one fit on the examples; "
            "'leaves' = leaf clusters holding the examples; 'neighbours' = nearest neighbours "
            "of the examples in the representation.")
    return {"rows": rows, "tables": tables, "summary": summary, "note": note}
