"""The search: select -> reduce -> cluster, as an estimator and as a run-folder function.

``RareClassSearch`` is a scikit-learn style wrapper: ``__init__`` only stores parameters, ``fit``
validates them and the inputs, then calls the plain stage functions (``raregal.select.select``,
``raregal.reduce.reduce``, ``raregal.cluster.cluster``). ``run_search`` is what the CLI calls: it
reads the tables, fits with a ``RunFolder`` so that every stage is timed, recorded and cached,
and writes the run folder. A stored embedding is reused when only clustering parameters change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import (
    PAPER_MIN_CLUSTER_SIZE,
    PAPER_MIN_SAMPLES,
    SearchConfig,
    plausibility_warnings,
    scale_for_sample,
    validate,
)
from raregal.constants import FILE_COLUMN, ID_COLUMN, NOISE
from raregal.errors import InputError, RaregalError
from raregal.run import RunFolder, StageRecord, params_key
from raregal.tables import feature_columns, read_table, require_columns, resolve_file_locs

logger = logging.getLogger(__name__)

CARRIED_COLUMNS = ("ra", "dec", FILE_COLUMN, "true_class")
"""Columns copied into galaxies.parquet when an input has them."""

INVALID_FEATURES = "invalid_features"
NO_MORPHOLOGY = "no_morphology"
TableLike = pd.DataFrame | str | os.PathLike


@dataclass
class SearchInputs:
    """Validated inputs: one row per galaxy that can be searched, in input order."""

    ids: np.ndarray
    X: np.ndarray
    feature_names: list[str]
    morphology: pd.DataFrame | None
    carried: pd.DataFrame
    dropped: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    sources: dict[str, str] = field(default_factory=dict)


def _read(table: TableLike, role: str) -> tuple[pd.DataFrame, Path | None]:
    if isinstance(table, pd.DataFrame):
        df = table.copy(deep=False)
        df.attrs.setdefault("source", f"<{role} DataFrame>")
        return df, None
    return read_table(table), Path(table)


def _require_id(df: pd.DataFrame, column: str, option: str) -> None:
    if column in df.columns:
        return
    source = df.attrs.get("source")
    candidates = [c for c in df.columns if "id" in str(c).lower()][:5]
    hint = f"; id-like columns here: {', '.join(map(repr, candidates))}" if candidates else ""
    try:
        require_columns(df, [column], source)
    except InputError as exc:
        raise InputError(
            f"{str(exc).split(': ', 1)[-1]}{hint} (choose one with {option})",
            path=source, column=column, count=1,
        ) from None  # fmt: skip


def _check_unique(ids: pd.Series, source: Any, column: str) -> None:
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        examples = ", ".join(map(repr, pd.unique(duplicated)[:5]))
        n_dup = int(ids.duplicated().sum())
        raise InputError(
            f"{n_dup} duplicate id(s) in column {column!r} (e.g. {examples}); ids must be unique",
            path=source, column=column, count=n_dup,
        )  # fmt: skip


def _fingerprint(*arrays: Any) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if isinstance(array, np.ndarray) and array.dtype != object:
            digest.update(np.ascontiguousarray(array).tobytes())
        else:
            digest.update("\x00".join(map(str, array)).encode())
    return "sha256:" + digest.hexdigest()


def prepare_inputs(
    representations: TableLike,
    morphology: TableLike | None = None,
    id_column: str = ID_COLUMN,
    morphology_id_column: str | None = None,
    features: Sequence[str] | str | None = None,
    drop_invalid: bool = False,
) -> SearchInputs:
    """Read and validate the representation table and (optionally) the morphology table.

    Refuses (InputError naming file, column and count): missing id or feature columns (with close
    matches), duplicate ids, non-finite features (unless ``drop_invalid``), representation ids
    without morphology (unless ``drop_invalid``), an empty table. Morphology ids without
    representations are counted and ignored. Everything dropped is listed in ``dropped``.
    """
    reps, reps_path = _read(representations, "representations")
    source = reps.attrs.get("source")
    _require_id(reps, id_column, "--id-column")
    if len(reps) == 0:
        raise InputError("the representation table has no rows", path=source, count=0)
    names = feature_columns(reps, features)
    ids = reps[id_column].astype(str)
    _check_unique(ids, source, id_column)
    counts: dict[str, int] = {"representations": len(reps)}
    try:
        X = reps[names].to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"feature columns are not numeric ({exc})", path=source) from None
    finite = np.isfinite(X).all(axis=1)
    dropped_parts: list[pd.DataFrame] = []
    n_bad = int((~finite).sum())
    counts[INVALID_FEATURES] = n_bad
    if n_bad:
        bad_cols = [names[j] for j in np.flatnonzero(~np.isfinite(X[~finite]).all(axis=0))[:3]]
        example = ", ".join(map(repr, ids[~finite].head(5)))
        if not drop_invalid:
            raise InputError(
                f"{n_bad} row(s) have NaN or inf in the features (ids {example}; columns "
                f"{', '.join(bad_cols)}); fix them or pass --drop-invalid to drop and count them",
                path=source, column=bad_cols[0], count=n_bad,
            )  # fmt: skip
        logger.warning("dropping %d row(s) with NaN or inf features (ids %s)", n_bad, example)
        dropped_parts.append(
            pd.DataFrame({ID_COLUMN: ids[~finite], "removed_by": INVALID_FEATURES})
        )
    keep = finite
    morph_df = None
    carried_source = reps
    morph_sources: list[pd.DataFrame] = []
    if morphology is not None:
        morph, _ = _read(morphology, "morphology")
        msource = morph.attrs.get("source")
        mid = morphology_id_column or id_column
        _require_id(morph, mid, "--morphology-id-column")
        morph_ids = morph[mid].astype(str)
        _check_unique(morph_ids, msource, mid)
        counts["morphology"] = len(morph)
        present = ids.isin(set(morph_ids)).to_numpy()
        only_reps = int((~present).sum())
        only_morph = int((~morph_ids.isin(set(ids))).sum())
        counts["ids_only_in_representations"] = only_reps
        counts["ids_only_in_morphology"] = only_morph
        if only_morph:
            logger.info("%d morphology row(s) have no representation; ignored", only_morph)
        if only_reps:
            example = ", ".join(map(repr, ids[~present].head(5)))
            if not drop_invalid:
                raise InputError(
                    f"{only_reps} representation id(s) have no row in the morphology table "
                    f"{msource} (e.g. {example}; {only_morph} morphology id(s) have no "
                    "representation); pass --drop-invalid to drop and count them",
                    path=source, column=id_column, count=only_reps,
                )  # fmt: skip
            newly = ~present & keep
            dropped_parts.append(pd.DataFrame({ID_COLUMN: ids[newly], "removed_by": NO_MORPHOLOGY}))
            keep = keep & present
        morph = morph.assign(**{ID_COLUMN: morph_ids}).set_index(ID_COLUMN)
        morph_df = morph.reindex(ids[keep].to_numpy())
        morph_df.index.name = ID_COLUMN
        morph_df = morph_df.reset_index()
        morph_df.attrs["source"] = msource
        morph_sources.append(morph_df)
    else:
        from raregal.select import has_morphology

        if has_morphology(reps):
            morph_df = reps.loc[keep].assign(**{ID_COLUMN: ids[keep].to_numpy()})
            morph_df.attrs["source"] = source
    counts["dropped_missing_morphology"] = int(
        sum((p["removed_by"] == NO_MORPHOLOGY).sum() for p in dropped_parts)
    )
    carried = pd.DataFrame(index=np.arange(int(keep.sum())))
    for column in CARRIED_COLUMNS:
        for frame in (carried_source.loc[keep], *morph_sources):
            if column in frame.columns:
                carried[column] = frame[column].to_numpy()
                break
    if FILE_COLUMN in carried and reps_path is not None:
        carried[FILE_COLUMN] = resolve_file_locs(carried, reps_path.resolve().parent).to_numpy()
    kept_ids = ids[keep].to_numpy()
    X = np.ascontiguousarray(X[keep])
    counts["valid"] = len(kept_ids)
    if len(kept_ids) == 0:
        raise InputError("no galaxy left after dropping invalid rows", path=source, count=0)
    dropped = (pd.concat(dropped_parts, ignore_index=True) if dropped_parts
               else pd.DataFrame({ID_COLUMN: [], "removed_by": []}))  # fmt: skip
    return SearchInputs(
        ids=kept_ids, X=X, feature_names=names, morphology=morph_df, carried=carried,
        dropped=dropped, counts=counts, fingerprint=_fingerprint(kept_ids, X),
        sources={"representations": str(source)},
    )  # fmt: skip


@contextmanager
def _no_record(name: str, params: dict[str, Any], upstream: str | None = None, outputs=()):
    yield StageRecord(name=name, key=params_key(params, upstream), reused=False, params=params)


class RareClassSearch:
    """Find rare classes: morphology selection, UMAP, HDBSCAN leaf clusters.

    Parameters
    ----------
    n_neighbors, n_components, map_components, min_dist, metric, n_epochs, pca_components,
    reducer, engine, min_samples, min_cluster_size, cluster_selection_method, random_state
        See ``raregal.config.SearchConfig`` (paper defaults).
    keep_artifacts : bool, default=False
        Do not remove artifacts (smooth-or-featured_artifact_fraction >= 0.3).
    edge_on_rule : {'conditional', 'joint'}, default='conditional'
        How the edge-on rule reads disk-edge-on_yes_fraction (see ``raregal.select``).
    scale_to_sample : bool, default=False
        Scale min_samples and min_cluster_size to the number selected (``scale_for_sample``).
    id_column, morphology_id_column : str
        Id columns of the representation and morphology tables.
    features : list of str or regex, default=None
        Feature columns; None finds feat_* or feat_pca_*.
    drop_invalid : bool, default=False
        Drop (and count) rows with non-finite features or without morphology instead of refusing.
    fit_sample_size : int or None, default=None
        Fit UMAP on a random sample of this size and transform the rest (``raregal.sample_fit``).
    memory_check : bool, default=True
        Refuse a stage whose memory estimate exceeds the free memory (``raregal.memory``);
        False only warns.

    Attributes
    ----------
    ids_ : ndarray of str, shape (n_selected,)
    labels_ : ndarray of int, shape (n_selected,)
        Cluster number by decreasing size, NOISE (-1) outside every leaf.
    probabilities_, outlier_scores_ : ndarray of float, shape (n_selected,)
    embedding_ : ndarray, shape (n_selected, n_components)
    map_embedding_ : ndarray, shape (n_selected, map_components)
    clusters_, condensed_tree_, selection_, galaxies_ : DataFrame
    counts_ : dict
        Rows after each step.
    params_used_ : dict
        The parameters actually used (after scale_to_sample).

    Examples
    --------
    >>> from raregal.synthetic import make_representations
    >>> df = make_representations(3000, n_features=16, seed=0)
    >>> search = RareClassSearch(min_samples=20, n_epochs=50).fit(df)  # doctest: +SKIP
    >>> search.clusters_[["letter", "size"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        n_neighbors: int = 50,
        n_components: int = 5,
        map_components: int = 2,
        min_dist: float = 0.1,
        metric: str = "euclidean",
        n_epochs: int | None = None,
        pca_components: int | None = None,
        reducer: str = "raregal",
        engine: str = "fast_hdbscan",
        min_samples: int = PAPER_MIN_SAMPLES,
        min_cluster_size: int = PAPER_MIN_CLUSTER_SIZE,
        cluster_selection_method: str = "leaf",
        random_state: int = 0,
        keep_artifacts: bool = False,
        edge_on_rule: str = "conditional",
        scale_to_sample: bool = False,
        id_column: str = ID_COLUMN,
        morphology_id_column: str | None = None,
        features: Sequence[str] | str | None = None,
        drop_invalid: bool = False,
        fit_sample_size: int | None = None,
        memory_check: bool = True,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.map_components = map_components
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.pca_components = pca_components
        self.reducer = reducer
        self.engine = engine
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.random_state = random_state
        self.keep_artifacts = keep_artifacts
        self.edge_on_rule = edge_on_rule
        self.scale_to_sample = scale_to_sample
        self.id_column = id_column
        self.morphology_id_column = morphology_id_column
        self.features = features
        self.drop_invalid = drop_invalid
        self.fit_sample_size = fit_sample_size
        self.memory_check = memory_check

    _PARAM_NAMES = (
        "n_neighbors", "n_components", "map_components", "min_dist", "metric", "n_epochs",
        "pca_components", "reducer", "engine", "min_samples", "min_cluster_size",
        "cluster_selection_method", "random_state", "keep_artifacts", "edge_on_rule",
        "scale_to_sample", "id_column", "morphology_id_column", "features", "drop_invalid",
        "fit_sample_size", "memory_check",
    )  # fmt: skip

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAM_NAMES}

    def set_params(self, **params: Any) -> RareClassSearch:
        for name, value in params.items():
            if name not in self._PARAM_NAMES:
                raise InputError(f"unknown parameter {name!r}; expected one of {self._PARAM_NAMES}")
            setattr(self, name, value)
        return self

    def _config(self) -> SearchConfig:
        config = SearchConfig.from_dict(self.get_params())
        validate(config)
        from raregal.select import EDGE_ON_RULES

        if self.edge_on_rule not in EDGE_ON_RULES:
            raise InputError(
                f"parameter 'edge_on_rule' must be one of {EDGE_ON_RULES}; "
                f"got {self.edge_on_rule!r}", column="edge_on_rule",
            )  # fmt: skip
        return config

    def fit(self, representations: TableLike, morphology: TableLike | None = None,
            run: RunFolder | None = None) -> RareClassSearch:  # fmt: skip
        """Select, reduce and cluster.

        Parameters
        ----------
        representations : DataFrame or path
            ``id_str`` (or ``id_column``) and ``feat_*``; may hold the vote fractions too.
        morphology : DataFrame or path, default=None
            Vote fractions joined on the id; None uses those in ``representations`` if any,
            otherwise every galaxy is kept (recorded as a warning).
        run : RunFolder, default=None
            Record, time and cache each stage there (``run_search`` passes one).
        """
        config = self._config()
        inputs = prepare_inputs(
            representations, morphology, self.id_column, self.morphology_id_column,
            self.features, self.drop_invalid,
        )  # fmt: skip
        return self._fit_inputs(inputs, config, run)

    def _fit_inputs(self, inputs: SearchInputs, config: SearchConfig,
                    run: RunFolder | None) -> RareClassSearch:  # fmt: skip
        from raregal.cluster import cluster
        from raregal.memory import check_cluster_memory, check_reduce_memory
        from raregal.reduce import reduce
        from raregal.select import paper_rules, select

        stage = run.stage if run is not None else _no_record
        self.warnings_: list[str] = []
        self.counts_ = dict(inputs.counts)
        self.timings_: dict[str, Any] = {}
        rules = paper_rules(self.keep_artifacts, self.edge_on_rule)
        select_params = {
            "rules": [vars(r) for r in rules] if inputs.morphology is not None else [],
            "input": inputs.fingerprint,
            "n_features": len(inputs.feature_names),
        }
        with stage("select", select_params, None) as record:  # cheap: always recomputed
            if inputs.morphology is None:
                message = "no vote fractions given: the morphology selection is skipped"
                logger.warning(message)
                self.warnings_.append(message)
                selection = pd.DataFrame({ID_COLUMN: inputs.ids, "kept": True, "removed_by": ""})
                sel_counts = {"input": len(inputs.ids), "selected": len(inputs.ids)}
            else:
                selection, sel_counts = select(inputs.morphology, rules)
            record.note(counts=sel_counts)
            full = pd.concat([selection, inputs.dropped.assign(kept=False)], ignore_index=True)
            full["kept"] = full["kept"].astype(bool)
            self.selection_ = full
            if run is not None:
                run.write_table("selection", full, metadata={"key": record.key})
        self.counts_["selection"] = sel_counts
        kept = selection["kept"].to_numpy()
        n = int(kept.sum())
        self.counts_["selected"] = n
        source = inputs.sources.get("representations")
        if n == 0:
            raise InputError(
                f"the morphology selection removed every galaxy ({sel_counts}); check the "
                "fraction columns or pass --keep-artifacts", path=source, count=0,
            )  # fmt: skip
        self.ids_ = inputs.ids[kept]
        X = inputs.X[kept]
        min_samples, min_cluster_size = config.min_samples, config.min_cluster_size
        if self.scale_to_sample:
            min_samples, min_cluster_size = scale_for_sample(n, min_samples, min_cluster_size)
            logger.info("scaled to %d galaxies: min_samples=%d, min_cluster_size=%d",
                        n, min_samples, min_cluster_size)  # fmt: skip
        self.warnings_ += plausibility_warnings(n, min_samples, min_cluster_size)
        if min_samples >= n or config.n_neighbors >= n:
            which = "min_samples" if min_samples >= n else "n_neighbors"
            value = min_samples if which == "min_samples" else config.n_neighbors
            raise InputError(
                f"{which}={value} needs more than {value} selected galaxies; {n} were selected "
                "(lower it, or pass --scale-to-sample)", path=source, column=which, count=n,
            )  # fmt: skip
        config.min_samples, config.min_cluster_size = min_samples, min_cluster_size
        self.params_used_ = config.to_dict()

        reduce_params = config.reduce_params()
        upstream = _fingerprint(self.ids_, X)  # exactly the rows reduced, whatever selected them
        with stage("reduce", reduce_params, upstream, ("embedding",)) as reduce_record:
            reduction = None
            if reduce_record.reused:
                reduction = self._load_embedding(run, config)
                if reduction is None:
                    reduce_record.reused = False
                    reduce_record.note(reuse_refused="stored embedding does not match the ids")
            if reduction is None:
                memory = check_reduce_memory(len(X), X.shape[1], reduce_params,
                                             ignore=not self.memory_check)  # fmt: skip
                reduce_record.note(memory=memory.to_dict())
                reduction = reduce(X, **reduce_params)
                reduce_record.note(timings=reduction.timings, **reduction.info)
                if run is not None:
                    run.write_table("embedding", self._embedding_frame(reduction),
                                    metadata={"key": reduce_record.key})  # fmt: skip
            else:
                logger.info("reusing the stored embedding (only clustering parameters changed)")
        self.embedding_, self.map_embedding_ = reduction.embedding, reduction.map_embedding
        self.timings_["reduce"] = reduction.timings

        cluster_params = config.cluster_params()
        outputs = ("galaxies", "clusters", "condensed_tree")
        with stage("cluster", cluster_params, reduce_record.key, outputs) as cluster_record:
            stored = self._load_clustering(run) if cluster_record.reused else None
            if cluster_record.reused and stored is None:
                cluster_record.reused = False
                cluster_record.note(reuse_refused="stored tables do not match the ids")
            cluster_timings: dict[str, float] = {}
            if stored is not None:
                logger.info("reusing the stored clustering (same parameters and embedding)")
            else:
                memory = check_cluster_memory(
                    len(self.ids_), self.embedding_.shape[1], cluster_params,
                    ignore=not self.memory_check,
                )  # fmt: skip
                cluster_record.note(memory=memory.to_dict())
                result = cluster(self.embedding_, ids=self.ids_, **cluster_params)
                cluster_record.note(timings=result.timings, **result.info)
                cluster_timings = result.timings
                self.labels_ = result.labels
                self.probabilities_ = result.probabilities
                self.outlier_scores_ = result.outlier_scores
                self.clusters_ = result.clusters
                self.condensed_tree_ = result.condensed_tree
                carried = inputs.carried.loc[kept].reset_index(drop=True)
                self.galaxies_ = self._galaxies_frame(carried)
                if run is not None:
                    self._write_cluster_tables(run, cluster_record.key)
        self.timings_["cluster"] = cluster_timings
        clustered = int((self.labels_ != NOISE).sum())
        self.counts_.update(clustered=clustered, noise=n - clustered, clusters=len(self.clusters_))
        return self

    # -- tables --------------------------------------------------------------------------------
    def _embedding_frame(self, reduction) -> pd.DataFrame:
        df = pd.DataFrame({ID_COLUMN: self.ids_})
        for i in range(reduction.embedding.shape[1]):
            df[f"umap_{i}"] = reduction.embedding[:, i]
        for i, name in enumerate(_map_names(reduction.map_embedding.shape[1])):
            df[name] = reduction.map_embedding[:, i]
        return df

    def _load_embedding(self, run: RunFolder, config: SearchConfig):
        from raregal.reduce import Reduction

        stored = run.read_table("embedding")
        if len(stored) != len(self.ids_) or not np.array_equal(
            stored[ID_COLUMN].astype(str).to_numpy(), self.ids_.astype(str)
        ):
            return None
        umap_cols = [f"umap_{i}" for i in range(config.n_components)]
        map_cols = _map_names(config.map_components)
        return Reduction(
            stored[umap_cols].to_numpy(dtype=np.float32),
            stored[map_cols].to_numpy(dtype=np.float32),
            {}, {"reused": True},
        )  # fmt: skip

    def _load_clustering(self, run: RunFolder):
        """The clustering stored in ``run`` when it belongs to these galaxies, else None."""
        galaxies = run.read_table("galaxies")
        if not np.array_equal(galaxies[ID_COLUMN].astype(str).to_numpy(), self.ids_.astype(str)):
            return None
        self.labels_ = galaxies["cluster"].to_numpy()
        self.probabilities_ = galaxies["probability"].to_numpy()
        self.outlier_scores_ = galaxies["outlier_score"].to_numpy()
        self.clusters_ = run.read_table("clusters")
        self.condensed_tree_ = run.read_table("condensed_tree")
        self.galaxies_ = galaxies
        return self

    def _galaxies_frame(self, carried: pd.DataFrame) -> pd.DataFrame:
        df = pd.DataFrame({
            ID_COLUMN: self.ids_, "cluster": self.labels_, "probability": self.probabilities_,
            "outlier_score": self.outlier_scores_,
        })  # fmt: skip
        for i in range(self.embedding_.shape[1]):
            df[f"umap_{i}"] = self.embedding_[:, i]
        for i, name in enumerate(_map_names(self.map_embedding_.shape[1])):
            df[name] = self.map_embedding_[:, i]
        for column in carried.columns:
            df[column] = carried[column].to_numpy()
        return df

    def _write_cluster_tables(self, run: RunFolder, key: str) -> None:
        meta = {"key": key}
        run.write_table("galaxies", self.galaxies_, metadata=meta)
        run.write_table("clusters", self.clusters_, metadata=meta)
        run.write_table("condensed_tree", self.condensed_tree_, metadata=meta)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted search to a run folder (Parquet tables and run.json; no pickle)."""
        if not hasattr(self, "labels_"):
            raise RaregalError("fit the search before saving it")
        run = RunFolder(path)
        run.write_table("selection", self.selection_)
        emb = self.galaxies_[[c for c in self.galaxies_.columns if _is_coordinate(c)]]
        run.write_table("embedding", pd.concat([self.galaxies_[[ID_COLUMN]], emb], axis=1))
        self._write_cluster_tables(run, "")
        _record_search(run, self)
        run.save()
        return run.path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RareClassSearch:
        """Read a run folder written by ``save`` or ``run_search``."""
        path = Path(path)
        record_path = path / "run.json"
        if not record_path.exists():
            raise InputError("not a run folder (no run.json)", path=path)
        record = json.loads(record_path.read_text())
        search_record = record.get("search")
        if not search_record:
            raise InputError("run.json holds no search; run `raregal search` first", path=path)
        names = set(cls._PARAM_NAMES)
        search = cls(**{k: v for k, v in search_record["params"].items() if k in names})
        galaxies = read_table(path / "galaxies.parquet")
        search.galaxies_ = galaxies
        search.ids_ = galaxies[ID_COLUMN].astype(str).to_numpy()
        search.labels_ = galaxies["cluster"].to_numpy()
        search.probabilities_ = galaxies["probability"].to_numpy()
        search.outlier_scores_ = galaxies["outlier_score"].to_numpy()
        umap_cols = sorted((c for c in galaxies.columns if c.startswith("umap_")),
                           key=lambda c: int(c.split("_")[1]))  # fmt: skip
        map_cols = [c for c in ("map_x", "map_y", "map_z") if c in galaxies.columns]
        search.embedding_ = galaxies[umap_cols].to_numpy()
        search.map_embedding_ = galaxies[map_cols].to_numpy()
        search.clusters_ = read_table(path / "clusters.parquet")
        search.condensed_tree_ = read_table(path / "condensed_tree.parquet")
        search.selection_ = read_table(path / "selection.parquet")
        search.counts_ = search_record.get("counts", {})
        search.params_used_ = search_record.get("params_used", {})
        search.warnings_ = search_record.get("warnings", [])
        search.timings_ = {}
        return search


def _map_names(k: int) -> list[str]:
    return ["map_x", "map_y", "map_z"][:k]


def _is_coordinate(column: str) -> bool:
    return column.startswith("umap_") or column in ("map_x", "map_y", "map_z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def _record_search(run: RunFolder, search: RareClassSearch) -> None:
    sizes = search.clusters_["size"].tolist() if len(search.clusters_) else []
    n = len(search.ids_)
    run.record["search"] = {
        "params": {k: _jsonable(v) for k, v in search.get_params().items()},
        "params_used": getattr(search, "params_used_", {}),
        "counts": search.counts_,
        "warnings": search.warnings_,
        "summary": {
            "clusters": len(sizes),
            "sizes": sizes,
            "clustered_fraction": round(float((search.labels_ != NOISE).sum()) / max(n, 1), 6),
        },
    }
    run.set_count("selected", n)
    run.set_count("clustered", int((search.labels_ != NOISE).sum()))


def run_search(
    representations: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str],
    morphology: str | os.PathLike[str] | pd.DataFrame | None = None,
    **params: Any,
) -> RareClassSearch:
    """Run the search into the run folder ``out`` and return the fitted estimator.

    Parameters
    ----------
    representations : path or DataFrame
        Representation table (any format ``read_table`` reads).
    out : path
        The run folder; created, or updated (stored embedding reused when only clustering
        parameters changed: see ``run.json['stages']['reduce']['reused']``).
    morphology : path or DataFrame, default=None
        Vote-fraction table joined on the id.
    **params
        ``RareClassSearch`` parameters.
    """
    search = RareClassSearch(**params)
    config = search._config()
    run = RunFolder(out)
    inputs = prepare_inputs(
        representations, morphology, search.id_column, search.morphology_id_column,
        search.features, search.drop_invalid,
    )  # fmt: skip
    for role, table in (("representations", representations), ("morphology", morphology)):
        if table is not None and not isinstance(table, pd.DataFrame):
            run.add_input(role, table)
        else:
            run.record["inputs"].pop(role, None)
    for step, count in inputs.counts.items():
        run.set_count(step, count)
    search._fit_inputs(inputs, config, run)
    for step, count in search.counts_.items():
        run.set_count(step, count)
    if "true_class" in search.galaxies_.columns:
        _write_recovery(run, search)
    _record_search(run, search)
    run.save()
    return search


def _write_recovery(run: RunFolder, search: RareClassSearch) -> None:
    """recovery.csv and a per-class summary in run.json, when the planted classes are known."""
    from raregal.recovery import recovery_summary
    from raregal.tables import write_table

    table, summary = recovery_summary(search.galaxies_)
    write_table(table[["true_class", "cluster", "purity", "completeness"]],
                run.path / "recovery.csv")  # fmt: skip
    run.record["recovery"] = summary.to_dict(orient="records")
