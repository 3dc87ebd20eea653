"""Recovery suite: how many planted classes each search finds, over several data seeds.

Representation level: generated 128-D representations (``raregal.synthetic``) with planted groups,
searched by raregal and by the reference with the density parameters scaled to N. Image level
(optional, ``image_n``): the demo's simulated survey through the bundled encoder, and the artifact
experiment (the artifact rule off: how many artifact types form clusters of their own).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from raregal.bench.quality import PIPELINES, planted_recovery, quality_data, search_labels
from raregal.config import scale_for_sample

logger = logging.getLogger(__name__)


def representation_recovery(
    n: int, seeds: Sequence[int], pipelines: Sequence[str] = tuple(PIPELINES)
) -> list[dict[str, Any]]:
    """One row per (data seed, pipeline): classes recovered, best purity/completeness, noise."""
    min_samples, min_cluster_size = scale_for_sample(n)
    rows = []
    for seed in seeds:
        X, groups = quality_data(n, seed)
        for name in pipelines:
            start = time.perf_counter()
            labels = search_labels(X, name, 0, min_samples, min_cluster_size)
            found = planted_recovery(groups, labels)
            per_class = found["per_class"].values()
            rows.append({
                "level": "representations", "n": n, "seed": seed, "pipeline": name,
                "recovered": f"{found['recovered']}/{found['classes']}",
                "min_purity": min(c["purity"] for c in per_class),
                "min_completeness": min(c["completeness"] for c in per_class),
                "clustered_fraction": round(float((labels >= 0).mean()), 4),
                "leaves": int(labels.max() + 1), "seconds": round(time.perf_counter() - start, 1),
            })  # fmt: skip
            logger.info("recovery %s", rows[-1])
    return rows


def image_recovery(n: int, seeds: Sequence[int], reducer: str = "raregal") -> list[dict[str, Any]]:
    """The demo (simulated images, bundled encoder) per seed, and the artifact experiment.

    The survey and its embedding are shared by both experiments of a seed; the search
    parameters are the demo's (scaled to its size).
    """
    import pandas as pd

    from raregal.demo import demo
    from raregal.simulate.classes import ARTIFACT_CLASSES

    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="raregal-bench-") as tmp:
            for keep_artifacts in (False, True):
                result = demo(f"{tmp}/run", n=n, seed=seed, keep_artifacts=keep_artifacts,
                              report=False, reducer=reducer)  # fmt: skip
                summary = result.summary
                artifacts = summary["true_class"].isin(ARTIFACT_CLASSES)
                clusters = pd.read_parquet(result.run_dir / "galaxies.parquet",
                                           columns=["cluster"])["cluster"]  # fmt: skip
                rows.append({
                    "level": "images", "n": n, "seed": seed, "pipeline": reducer,
                    "experiment": "artifacts kept" if keep_artifacts else "paper selection",
                    "recovered": f"{int(summary['recovered'][~artifacts].sum())}/"
                                 f"{int((~artifacts).sum())}",
                    "artifact_types_own_cluster": (
                        f"{int(summary['recovered'][artifacts].sum())}/{int(artifacts.sum())}"
                        if keep_artifacts else ""),
                    "leaves": len(result.clusters),
                    "clustered_fraction": round(float((clusters >= 0).mean()), 4),
                })  # fmt: skip
                logger.info("image recovery %s", rows[-1])
    return rows


def run_recovery(n: int, seeds: Sequence[int], image_n: int = 0) -> dict[str, Any]:
    """The recovery suite (see the module docstring)."""
    rows = representation_recovery(n, seeds)
    result: dict[str, Any] = {"rows": rows}
    if image_n:
        result["tables"] = [{"title": "image level (demo survey, bundled encoder)",
                             "rows": image_recovery(image_n, seeds)}]  # fmt: skip
    by_pipeline = {}
    for name in PIPELINES:
        mine = [r for r in rows if r["pipeline"] == name]
        if mine:
            recovered = [int(r["recovered"].split("/")[0]) for r in mine]
            by_pipeline[name] = {"mean_recovered": round(float(np.mean(recovered)), 2),
                                 "classes": int(mine[0]["recovered"].split("/")[1])}  # fmt: skip
    result["summary"] = by_pipeline
    return result
