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
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster.stability import (
    CONSENSUS_RULE,
    MATCH_JACCARD,
    consensus_clusters,
    seed_stability,
)
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
    seed_cluster_column,
    seed_umap_columns,
    umap_columns,
)
from raregal.reduce.seeds import seed_values
from raregal.search.inputs import SearchInputs, fingerprint

logger = logging.getLogger(__name__)

CLUSTER_OUTPUTS = ("galaxies", "clusters", "condensed_tree")
SEED_CLUSTER_OUTPUTS = ("seed_clusters", "consensus")
"""What the cluster stage adds with ``n_seeds`` > 1 (the reduce stage adds ``seed_layouts``)."""


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
    seeds : list of int
        The UMAP seeds (``n_seeds`` of them, the run's own first).
    seed_labels : DataFrame or None
        ``seed_clusters``: every seed's leaf labels (n_seeds > 1).
    consensus : DataFrame or None
        ``consensus``: the consensus clusters across seeds (n_seeds > 1).
    placement : PlacementModel or None
        What placing new galaxies needs of the fitted reducer (``raregal.predict.model``);
        None for metrics without an HNSW index.
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
    seeds: list[int] = field(default_factory=list)
    seed_labels: pd.DataFrame | None = None
    consensus: pd.DataFrame | None = None
    placement: Any = None


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
    seeds = seed_values(used["random_state"], used["n_seeds"])
    many = len(seeds) > 1
    upstream = fingerprint(ids, X)  # exactly the rows reduced, whatever selected them
    reduce_outputs = ("embedding", "seed_layouts") if many else ("embedding",)
    with stage("reduce", reduce_params, upstream, reduce_outputs) as reduce_record:
        embedding, map_embedding, seed_embeddings, reduce_timings, reduction = _reduce(
            run, reduce_record, ids, X, reduce_params, params["ignore_memory_check"]
        )
        placement = _placement(run, reduce_record, reduction, X, inputs.feature_names,
                               reduce_params, select_params["rules"])  # fmt: skip
    timings["reduce"] = reduce_timings

    cluster_params = {name: used[name] for name in CLUSTER_PARAMS}
    outputs = CLUSTER_OUTPUTS + (SEED_CLUSTER_OUTPUTS if many else ())
    with stage("cluster", cluster_params, reduce_record.key, outputs) as cluster_record:
        stored = _stored_clustering(run, ids, many) if cluster_record.reused else None
        if cluster_record.reused and stored is None:
            cluster_record.reused = False
            cluster_record.note(reuse_refused="stored tables do not match the ids")
        if stored is not None:
            logger.info("reusing the stored clustering (same parameters and embedding)")
            galaxies, clusters, tree, seed_labels, consensus = stored
            timings["cluster"] = {}
        else:
            galaxies, clusters, tree, timings["cluster"] = _cluster(
                cluster_record, ids, embedding, map_embedding,
                inputs.carried.loc[kept].reset_index(drop=True), cluster_params,
                params["ignore_memory_check"],
            )  # fmt: skip
            seed_labels, consensus = None, None
            if many:
                seed_labels, consensus = _cluster_seeds(
                    cluster_record, ids, galaxies, clusters, seeds, seed_embeddings,
                    cluster_params, timings["cluster"],
                )  # fmt: skip
            clusters = _rank(cluster_record, clusters, galaxies, embedding, inputs, kept)
            if run is not None:
                tables = {"galaxies": galaxies, "clusters": clusters, "condensed_tree": tree,
                          "seed_clusters": seed_labels, "consensus": consensus}  # fmt: skip
                for name in outputs:
                    meta = {"rule": CONSENSUS_RULE, "seeds": seeds} if name == "consensus" else None
                    run.write_table(name, tables[name], key=cluster_record.key, metadata=meta)
    labels = galaxies["cluster"].to_numpy()
    clustered = int((labels != NOISE).sum())
    counts.update(clustered=clustered, noise=n - clustered, clusters=len(clusters))
    return SearchResult(
        ids=ids, selection=full, embedding=embedding, map_embedding=map_embedding,
        labels=labels, probabilities=galaxies["probability"].to_numpy(),
        outlier_scores=galaxies["outlier_score"].to_numpy(), clusters=clusters,
        condensed_tree=tree, galaxies=galaxies, params=dict(params), params_used=used,
        counts=counts, timings=timings, warnings=warnings, seeds=seeds, seed_labels=seed_labels,
        consensus=consensus, placement=placement,
    )  # fmt: skip


def _reduce(
    run: RunFolder | None,
    record: StageRecord,
    ids: np.ndarray,
    X: np.ndarray,
    reduce_params: dict[str, Any],
    ignore_memory_check: bool,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[str, float], Any]:
    """The embedding, the map, the other seeds' layouts, the timings and the reduction (None
    when reused): the stored ones when ``record.reused`` and they match."""
    from raregal.memory import check_reduce_memory
    from raregal.reduce import reduce

    if record.reused:
        stored = _stored_embedding(run, ids, reduce_params)
        if stored is not None:
            logger.info("reusing the stored embedding (only clustering parameters changed)")
            return stored[0], stored[1], stored[2], {}, None
        record.reused = False
        record.note(reuse_refused="stored embedding does not match the ids")
    memory = check_reduce_memory(len(X), X.shape[1], reduce_params, ignore=ignore_memory_check)
    record.note(memory=memory.to_dict())
    reduction = reduce(X, **reduce_params)
    record.note(timings=reduction.timings, **reduction.info)
    if run is not None:
        frame = embedding_frame(ids, reduction.embedding, reduction.map_embedding)
        run.write_table("embedding", frame, key=record.key)
        if reduction.seed_embeddings:
            layouts = seed_layout_frame(ids, reduction.seeds[1:], reduction.seed_embeddings)
            run.write_table("seed_layouts", layouts, key=record.key)
    return (reduction.embedding, reduction.map_embedding, reduction.seed_embeddings,
            reduction.timings, reduction)  # fmt: skip


def _placement(
    run: RunFolder | None,
    record: StageRecord,
    reduction: Any,
    X: np.ndarray,
    feature_names: list[str],
    reduce_params: dict[str, Any],
    rules: list[dict[str, Any]],
) -> Any:
    """The placement model of this reduction (``raregal.predict.model``), written into the run
    folder; a reused reduction reuses the stored one when it carries the same key."""
    from raregal.predict.model import PlacementModel, build_placement

    start = time.perf_counter()
    if reduction is None and run is not None:
        try:
            stored = PlacementModel.load(run.path)
        except InputError:
            stored = None
        if stored is not None and stored.key == record.key:
            return stored
    projection = getattr(reduction, "projection", None)
    if reduction is None and reduce_params["pca_components"] is not None:
        from raregal.reduce.stage import fit_pca  # the stored reduction's PCA, made again

        projection = fit_pca(X, reduce_params["pca_components"], reduce_params["random_state"])[2]
    model = build_placement(
        X, feature_names, reduce_params, rules, record.key,
        index=getattr(reduction, "index", None), projection=projection,
        radius=getattr(reduction, "neighbour_radius", None),
    )  # fmt: skip
    if model is not None and run is not None:
        model.save(run.path)
    record.note(placement_model_seconds=round(time.perf_counter() - start, 3),
                placement_model=model is not None)  # fmt: skip
    return model


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
    timings = dict(result.timings)  # the seeds' HDBSCAN times are added to it
    record.note(timings=timings, **result.info)
    galaxies = embedding_frame(ids, embedding, map_embedding)
    galaxies.insert(1, "cluster", result.labels)
    galaxies.insert(2, "probability", result.probabilities)
    galaxies.insert(3, "outlier_score", result.outlier_scores)
    for column in carried.columns:
        galaxies[column] = carried[column].to_numpy()
    if result.core_distances is not None:
        galaxies["core_distance"] = result.core_distances
    clusters = result.clusters.assign(seed_stability=np.nan)
    return galaxies, clusters, result.condensed_tree, timings


def _cluster_seeds(
    record: StageRecord,
    ids: np.ndarray,
    galaxies: pd.DataFrame,
    clusters: pd.DataFrame,
    seeds: list[int],
    seed_embeddings: list[np.ndarray],
    cluster_params: dict[str, Any],
    timings: dict[str, float],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HDBSCAN of every other seed's layout, each cluster's ``seed_stability`` (set in
    ``clusters``) and the consensus clusters (``raregal.cluster.stability``)."""
    from raregal.cluster import cluster

    labelings = [galaxies["cluster"].to_numpy(np.int64)]
    for seed, layout in zip(seeds[1:], seed_embeddings, strict=True):
        start = time.perf_counter()
        labelings.append(cluster(layout, ids=ids, **cluster_params).labels.astype(np.int64))
        timings[f"seed_{seed}_hdbscan"] = round(time.perf_counter() - start, 3)
    stability = seed_stability(labelings)
    clusters["seed_stability"] = stability
    consensus = consensus_clusters(labelings, seeds)
    values, counts = np.unique(np.rint(stability * len(seeds)).astype(int), return_counts=True)
    record.note(seeds=seeds, match_jaccard=MATCH_JACCARD, consensus_rule=CONSENSUS_RULE,
                seed_stability_counts={f"{v}/{len(seeds)}": int(c)
                                       for v, c in zip(values, counts, strict=True)},
                consensus_clusters=int(consensus["consensus"].nunique()))  # fmt: skip
    seed_labels = pd.DataFrame({ID_COLUMN: ids})
    for seed, labels in zip(seeds, labelings, strict=True):
        seed_labels[seed_cluster_column(seed)] = labels
    return seed_labels, consensus


def seed_layout_frame(
    ids: np.ndarray, seeds: list[int], layouts: list[np.ndarray]
) -> pd.DataFrame:
    """``id_str`` and ``seed_<seed>_umap_<i>`` columns (the seed_layouts table)."""
    columns: dict[str, Any] = {ID_COLUMN: ids}
    for seed, layout in zip(seeds, layouts, strict=True):
        names = seed_umap_columns(seed, np.asarray(layout).shape[1])
        for name, values in zip(names, np.asarray(layout).T, strict=True):
            columns[name] = values
    return pd.DataFrame(columns)


def _rank(
    record: StageRecord,
    clusters: pd.DataFrame,
    galaxies: pd.DataFrame,
    embedding: np.ndarray,
    inputs: SearchInputs,
    kept: np.ndarray,
) -> pd.DataFrame:
    """The clusters ranked by how rare they look, and described (``raregal.discover.ranking``);
    ranked after the seeds are clustered, so that ``seed_stability`` counts."""
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
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None:
    """The stored embedding, map and other seeds' layouts when they belong to exactly these
    galaxies, else None."""
    if run is None:
        return None
    stored = run.read_table("embedding")
    if not _same_ids(stored, ids):
        return None
    k = reduce_params["n_components"]
    embedding = stored[umap_columns(k)].to_numpy(np.float32)
    map_embedding = stored[map_columns(reduce_params["map_components"])].to_numpy(np.float32)
    seeds = seed_values(reduce_params["random_state"], reduce_params["n_seeds"])[1:]
    layouts: list[np.ndarray] = []
    if seeds:
        table = run.read_table("seed_layouts")
        if not _same_ids(table, ids):
            return None
        layouts = [table[seed_umap_columns(s, k)].to_numpy(np.float32) for s in seeds]
    return embedding, map_embedding, layouts


def _stored_clustering(run: RunFolder | None, ids: np.ndarray, many: bool) -> tuple[
    pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None
] | None:  # fmt: skip
    """The stored galaxies, clusters, tree (and seed tables) when they belong to these galaxies,
    else None."""
    if run is None:
        return None
    galaxies = run.read_table("galaxies")
    if not _same_ids(galaxies, ids):
        return None
    seed_labels = run.read_table("seed_clusters") if many else None
    consensus = run.read_table("consensus") if many else None
    if seed_labels is not None and not _same_ids(seed_labels, ids):
        return None
    clusters = run.read_table("clusters")
    if "seed_stability" not in clusters:
        clusters["seed_stability"] = np.nan
    return galaxies, clusters, run.read_table("condensed_tree"), seed_labels, consensus


def _same_ids(table: pd.DataFrame, ids: np.ndarray) -> bool:
    return len(table) == len(ids) and np.array_equal(
        table[ID_COLUMN].astype(str).to_numpy(), ids.astype(str)
    )
