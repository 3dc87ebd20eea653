"""What a search writes into ``run.json`` beside its stages: parameters, counts, summary, and the
planted-class recovery when the truth is known."""

from __future__ import annotations

from typing import Any

import numpy as np

from raregal.cluster.stability import stable_count
from raregal.constants import NOISE
from raregal.io.runfolder import TABLES, RunFolder


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def record_search(run: RunFolder, search: Any) -> None:
    """``run.json['search']``: the parameters given and used, counts, warnings and a summary."""
    sizes = search.clusters_["size"].tolist() if len(search.clusters_) else []
    n = len(search.ids_)
    clustered = int((search.labels_ != NOISE).sum())
    run.record["search"] = {
        "params": {k: _jsonable(v) for k, v in search.get_params().items()},
        "params_used": {k: _jsonable(v) for k, v in search.params_used_.items()},
        "counts": search.counts_,
        "warnings": search.warnings_,
        "summary": {
            "clusters": len(sizes),
            "sizes": sizes,
            "clustered_fraction": round(clustered / max(n, 1), 6),
            **seed_summary(search.clusters_, len(search.seeds_)),
        },
        "seeds": list(search.seeds_),
    }
    for step, count in search.counts_.items():
        run.set_count(step, count)
    run.set_count("selected", n)
    run.set_count("clustered", clustered)


def seed_summary(clusters: Any, n_seeds: int) -> dict[str, Any]:
    """How many clusters come back with other seeds (empty with one seed): the count of
    clusters found in k of the n_seeds seeds, for each k, and how many are stable (found in
    at least ``STABLE_SHARE`` of the seeds)."""
    if n_seeds < 2 or "seed_stability" not in clusters:
        return {}
    found = np.rint(clusters["seed_stability"].to_numpy(float) * n_seeds).astype(int)
    return {
        "n_seeds": n_seeds,
        "clusters_found_in_k_seeds": {str(k): int((found == k).sum())
                                      for k in range(1, n_seeds + 1)},
        "stable_clusters": int((found >= stable_count(n_seeds)).sum()),
    }  # fmt: skip


def write_recovery(run: RunFolder, galaxies: Any) -> None:
    """``recovery.csv`` and a per-class summary in run.json (simulated surveys only)."""
    from raregal.recovery import recovery_summary

    table, summary = recovery_summary(galaxies)
    columns = [c.name for c in TABLES["recovery"].columns]
    run.write_table("recovery", table[columns])
    run.record["recovery"] = summary.to_dict(orient="records")
