"""``search``: the plain function that does the work (select -> reduce -> cluster).

``RareClassSearch.fit`` and ``run_search`` both call it. It takes checked inputs
(``raregal.search.inputs.SearchInputs``) and a complete, validated set of parameters
(``raregal.config.validate``), never changes them, and returns a ``SearchResult``; the
parameters actually used (after ``scale_to_sample``) are a new dict, ``params_used``. With a
``RunFolder`` each stage is timed, recorded in ``run.json`` and cached: a stored embedding is
reused when only clustering parameters change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import (
    CLUSTER_PARAMS,
    REDUCE_PARAMS,
    plausibility_warnings,
    require_enough_galaxies,
    scale_for_sample,
)
from raregal.constants import ID_COLUMN, NOISE
from raregal.errors import InputError
from raregal.io.runfolder import (
    RunFolder,
    StageRecord,
    map_columns,
    params_key,
    umap_columns,
)
from raregal.search.inputs import SearchInputs, fingerprint

logger = logging.getLogger(__name__)

CLUSTER_OUTPUTS = ("galaxies", "clusters", "condensed_tree")


@dataclass
class SearchResult:
    """Everything a search found, for the selected galaxies (in input order).

    Attributes
    ----------
    ids : ndarray of str, shape (n_selected,)
    selection : DataFrame
        Every input galaxy: ``id_str``, ``kept``, ``removed_by``.
    embedding, map_embedding : ndarray of float32
        The clustered UMAP coordinates and the map.
    labels : ndarray of int
        Cluster number by decreasing size, NOISE (-1) outside every leaf.
    probabilities, outlier_scores : ndarray of float
    clusters, condensed_tree, galaxies : DataFrame
        The run-folder tables (``raregal.io.runfolder.TABLES``).
    params : dict
        The parameters as given (complete, validated).
    params_used : dict
        The parameters used (``min_samples``, ``min_cluster_size`` after ``scale_to_sample``).
    counts, timings : dict
    warnings : list of str
    """

    ids: np.ndarray
    selection: pd.DataFrame
    embedding: np.ndarray
    map_embedding: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    clusters: pd.DataFrame
    condensed_tree: pd.DataFrame
    galaxies: pd.DataFrame
    params: dict[str, Any]
    params_used: dict[str, Any]
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@contextmanager
def _unrecorded(
    name: str, params: Mapping[str, Any], upstream: str | None = None, outputs: tuple = ()
) -> Iterator[StageRecord]:
    """A stand-in for ``RunFolder.stage`` when the search writes no run folder."""
    yield StageRecord(name=name, key=params_key(params, upstream), reused=False,
                      params=dict(params))  # fmt: skip


def search(
    inputs: SearchInputs, params: Mapping[str, Any], run: RunFolder | None = None
) -> SearchResult:
    """Select featured galaxies, reduce them with UMAP and find the HDBSCAN leaf clusters.

    Parameters
    ----------
    inputs : SearchInputs
        From ``raregal.search.inputs.prepare_inputs``.
    params : mapping
        A complete set from ``raregal.config.validate``; not changed.
    run : RunFolder, default=None
        Record, time and cache each stage there, and write its tables.

    Returns
    -------
    SearchResult
    """
    from raregal.select import paper_rules, select

    stage = run.stage if run is not None else _unrecorded
    warnings: list[str] = []
    counts: dict[str, Any] = dict(inputs.counts)
    timings: dict[str, Any] = {}
    source = inputs.sources.get("representations")

    rules = paper_rules(params["keep_artifacts"], params["edge_on_rule"],
                        params["smooth_threshold"], params["edge_on_threshold"],
                        params["artifact_threshold"])  # fmt: skip
    select_params = {
        "rules": [vars(r) for r in rules] if inputs.morphology is not None else [],
        "input": inputs.fingerprint,
        "n_features": len(inputs.feature_names),
    }
    with stage("select", select_params, None) as record:  # cheap: always recomputed
        if inputs.morphology is None:
            message = "no vote fractions given: the morphology selection is skipped"
            logger.warning(message)
            warnings.append(message)
            selection = pd.DataFrame({ID_COLUMN: inputs.ids, "kept": True, "removed_by": ""})
            sel_counts = {"input": len(inputs.ids), "selected": len(inputs.ids)}
        else:
            selection, sel_counts = select(inputs.morphology, rules)
        record.note(counts=sel_counts)
        full = pd.concat([selection, inputs.dropped.assign(kept=False)], ignore_index=True)
        full["kept"] = full["kept"].astype(bool)
        full["removed_by"] = full["removed_by"].astype(str)
        if run is not None:
            run.write_table("selection", full, key=record.key)
    counts["selection"] = sel_counts
    kept = selection["kept"].to_numpy()
    n = int(kept.sum())
    counts["selected"] = n
    if n == 0:
        raise InputError(
            f"the morphology selection removed every galaxy ({sel_counts}); check the "
            "fraction columns or pass --keep-artifacts", path=source, count=0,
        )  # fmt: skip
    ids = inputs.ids[kept]
    X = inputs.X[kept]

    used = dict(params)
    if params["scale_to_sample"]:
        used["min_samples"], used["min_cluster_size"] = scale_for_sample(
            n, params["min_samples"], params["min_cluster_size"]
        )
        logger.info("scaled to %d galaxies: min_samples=%d, min_cluster_size=%d",
                    n, used["min_samples"], used["min_cluster_size"])  # fmt: skip
    warnings += plausibility_warnings(n, used["min_samples"], used["min_cluster_size"])
    require_enough_galaxies(n, min_samples=used["min_samples"], n_neighbors=used["n_neighbors"])

    reduce_params = {name: used[name] for name in REDUCE_PARAMS}
    upstream = fingerprint(ids, X)  # exactly the rows reduced, whatever selected them
    with stage("reduce", reduce_params, upstream, ("embedding",)) as reduce_record:
        embedding, map_embedding, reduce_timings = _reduce(
            run, reduce_record, ids, X, reduce_params, params["ignore_memory_check"]
        )
    timings["reduce"] = reduce_timings

    cluster_params = {name: used[name] for name in CLUSTER_PARAMS}
    with stage("cluster", cluster_params, reduce_record.key, CLUSTER_OUTPUTS) as cluster_record:
        stored = _stored_clustering(run, ids) if cluster_record.reused else None
        if cluster_record.reused and stored is None:
            cluster_record.reused = False
            cluster_record.note(reuse_refused="stored tables do not match the ids")
        if stored is not None:
            logger.info("reusing the stored clustering (same parameters and embedding)")
            galaxies, clusters, tree = stored
            timings["cluster"] = {}
        else:
            galaxies, clusters, tree, timings["cluster"] = _cluster(
                cluster_record, ids, embedding, map_embedding,
                inputs.carried.loc[kept].reset_index(drop=True), cluster_params,
                params["ignore_memory_check"],
            )  # fmt: skip
            clusters = _rank(cluster_record, clusters, galaxies, embedding, inputs, kept)
            if run is not None:
                for name, table in zip(CLUSTER_OUTPUTS, (galaxies, clusters, tree), strict=True):
                    run.write_table(name, table, key=cluster_record.key)
    labels = galaxies["cluster"].to_numpy()
    clustered = int((labels != NOISE).sum())
    counts.update(clustered=clustered, noise=n - clustered, clusters=len(clusters))
    return SearchResult(
        ids=ids, selection=full, embedding=embedding, map_embedding=map_embedding,
        labels=labels, probabilities=galaxies["probability"].to_numpy(),
        outlier_scores=galaxies["outlier_score"].to_numpy(), clusters=clusters,
        condensed_tree=tree, galaxies=galaxies, params=dict(params), params_used=used,
        counts=counts, timings=timings, warnings=warnings,
    )  # fmt: skip


def _reduce(
    run: RunFolder | None,
    record: StageRecord,
    ids: np.ndarray,
    X: np.ndarray,
    reduce_params: dict[str, Any],
    ignore_memory_check: bool,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The embedding and the map: the stored ones when ``record.reused`` and they match."""
    from raregal.memory import check_reduce_memory
    from raregal.reduce import reduce

    if record.reused:
        stored = _stored_embedding(run, ids, reduce_params)
        if stored is not None:
            logger.info("reusing the stored embedding (only clustering parameters changed)")
            return stored[0], stored[1], {}
        record.reused = False
        record.note(reuse_refused="stored embedding does not match the ids")
    memory = check_reduce_memory(len(X), X.shape[1], reduce_params, ignore=ignore_memory_check)
    record.note(memory=memory.to_dict())
    reduction = reduce(X, **reduce_params)
    record.note(timings=reduction.timings, **reduction.info)
    if run is not None:
        frame = embedding_frame(ids, reduction.embedding, reduction.map_embedding)
        run.write_table("embedding", frame, key=record.key)
    return reduction.embedding, reduction.map_embedding, reduction.timings


def _cluster(
    record: StageRecord,
    ids: np.ndarray,
    embedding: np.ndarray,
    map_embedding: np.ndarray,
    carried: pd.DataFrame,
    cluster_params: dict[str, Any],
    ignore_memory_check: bool,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """HDBSCAN of the embedding: the galaxies, clusters and condensed-tree tables."""
    from raregal.cluster import cluster
    from raregal.memory import check_cluster_memory

    memory = check_cluster_memory(len(ids), embedding.shape[1], cluster_params,
                                  ignore=ignore_memory_check)  # fmt: skip
    record.note(memory=memory.to_dict())
    result = cluster(embedding, ids=ids, **cluster_params)
    record.note(timings=result.timings, **result.info)
    galaxies = embedding_frame(ids, embedding, map_embedding)
    galaxies.insert(1, "cluster", result.labels)
    galaxies.insert(2, "probability", result.probabilities)
    galaxies.insert(3, "outlier_score", result.outlier_scores)
    for column in carried.columns:
        galaxies[column] = carried[column].to_numpy()
    return galaxies, result.clusters, result.condensed_tree, result.timings


def _rank(
    record: StageRecord,
    clusters: pd.DataFrame,
    galaxies: pd.DataFrame,
    embedding: np.ndarray,
    inputs: SearchInputs,
    kept: np.ndarray,
) -> pd.DataFrame:
    """The clusters ranked by how rare they look, and described (``raregal.discover.ranking``)."""
    import time

    from raregal.discover.ranking import rank_clusters, survey_statistics

    start = time.perf_counter()
    fractions = inputs.morphology.loc[kept] if inputs.morphology is not None else None
    ranked = rank_clusters(clusters, galaxies["cluster"].to_numpy(), embedding, inputs.X[kept],
                           fractions, survey_statistics(inputs.X))  # fmt: skip
    record.note(rank_seconds=round(time.perf_counter() - start, 3))
    return ranked


def embedding_frame(
    ids: np.ndarray, embedding: np.ndarray, map_embedding: np.ndarray
) -> pd.DataFrame:
    """``id_str``, ``umap_*`` and ``map_*`` columns (the embedding table)."""
    df = pd.DataFrame({ID_COLUMN: ids})
    for name, values in zip(umap_columns(embedding.shape[1]), embedding.T, strict=True):
        df[name] = values
    for name, values in zip(map_columns(map_embedding.shape[1]), map_embedding.T, strict=True):
        df[name] = values
    return df


def _stored_embedding(
    run: RunFolder | None, ids: np.ndarray, reduce_params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored embedding and map when they belong to exactly these galaxies, else None."""
    if run is None:
        return None
    stored = run.read_table("embedding")
    if not _same_ids(stored, ids):
        return None
    embedding = stored[umap_columns(reduce_params["n_components"])].to_numpy(np.float32)
    map_embedding = stored[map_columns(reduce_params["map_components"])].to_numpy(np.float32)
    return embedding, map_embedding


def _stored_clustering(
    run: RunFolder | None, ids: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """The stored galaxies, clusters and tree when they belong to these galaxies, else None."""
    if run is None:
        return None
    galaxies = run.read_table("galaxies")
    if not _same_ids(galaxies, ids):
        return None
    return galaxies, run.read_table("clusters"), run.read_table("condensed_tree")


def _same_ids(table: pd.DataFrame, ids: np.ndarray) -> bool:
    return len(table) == len(ids) and np.array_equal(
        table[ID_COLUMN].astype(str).to_numpy(), ids.astype(str)
    )
