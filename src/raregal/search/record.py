"""What a search writes into ``run.json`` beside its stages: parameters, counts, summary, and the
planted-class recovery when the truth is known."""

from __future__ import annotations

from typing import Any

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
        },
    }
    for step, count in search.counts_.items():
        run.set_count(step, count)
    run.set_count("selected", n)
    run.set_count("clustered", clustered)


def write_recovery(run: RunFolder, galaxies: Any) -> None:
    """``recovery.csv`` and a per-class summary in run.json (simulated surveys only)."""
    from raregal.recovery import recovery_summary

    table, summary = recovery_summary(galaxies)
    columns = [c.name for c in TABLES["recovery"].columns]
    run.write_table("recovery", table[columns])
    run.record["recovery"] = summary.to_dict(orient="records")
