"""``RareClassSearch``: the search as a scikit-learn style estimator.

``__init__`` only stores parameters (each defaults to ``raregal.config.DEFAULTS``); ``fit``
validates them (``raregal.config.validate``) and the inputs (``prepare_inputs``), calls the plain
``raregal.search.core.search`` and stores what it found in attributes ending in ``_``. ``save``
writes a run folder and ``load`` reads one back (Parquet tables and run.json; no pickle).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator

from raregal.config import DEFAULTS, PARAMETER_TABLE, check_widths, validate
from raregal.constants import ID_COLUMN
from raregal.errors import RaregalError
from raregal.io.runfolder import RunFolder, map_columns, umap_columns
from raregal.search.core import SearchResult, embedding_frame, search
from raregal.search.inputs import TableLike, prepare_inputs


class RareClassSearch(BaseEstimator):
    """Find rare classes: morphology selection, UMAP, HDBSCAN leaf clusters.

    Parameters
    ----------
    id_column, morphology_id_column, features, drop_invalid, smooth_threshold,
    edge_on_threshold, artifact_threshold, keep_artifacts, edge_on_rule, reducer, n_neighbors,
    n_components, map_components, min_dist, metric, n_epochs, pca_components, random_state,
    n_seeds, fit_sample_size, engine, min_samples, min_cluster_size, cluster_selection_method,
    scale_to_sample, ignore_memory_check
        Every parameter of ``raregal.config.PARAMETERS``, by the same name, with the paper's
        default (``min_samples=300``, ``min_cluster_size=10``, ``n_neighbors=50``,
        ``n_components=5``; smooth >= 0.5, edge-on >= 0.3 and artifact >= 0.3 removed). Their
        meaning and constraints are listed there and in ``raregal search --help``.

    Attributes
    ----------
    ids_ : ndarray of str, shape (n_selected,)
    labels_ : ndarray of int, shape (n_selected,)
        Cluster number by decreasing size, NOISE (-1) outside every leaf.
    probabilities_, outlier_scores_ : ndarray of float, shape (n_selected,)
    embedding_ : ndarray, shape (n_selected, n_components)
    map_embedding_ : ndarray, shape (n_selected, map_components)
    clusters_, condensed_tree_, selection_, galaxies_ : DataFrame
        The run-folder tables (``raregal.io.runfolder.TABLES``).
    counts_ : dict
        Rows after each step.
    params_used_ : dict
        The parameters actually used (after ``scale_to_sample``).
    warnings_ : list of str
    timings_ : dict
    seeds_ : list of int
        The UMAP seeds (``n_seeds``; the run's own, ``random_state``, first).
    seed_labels_ : DataFrame or None
        Every seed's leaf labels (``seed_clusters``), when ``n_seeds`` > 1.
    consensus_ : DataFrame or None
        The consensus clusters across seeds (``consensus``), when ``n_seeds`` > 1; each
        cluster's ``seed_stability`` is a column of ``clusters_``.
    placement_ : PlacementModel or None
        What ``predict`` needs of the fitted reducer (``raregal.predict.model``); read from
        ``run_path_`` when needed after ``load``.
    run_path_ : Path or None
        The run folder the search was written to or read from.

    Examples
    --------
    >>> from raregal.synthetic import make_representations
    >>> df = make_representations(3000, n_features=16, seed=0)
    >>> search = RareClassSearch(min_samples=20, n_epochs=50).fit(df)  # doctest: +SKIP
    >>> search.clusters_[["letter", "size"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        id_column: str = DEFAULTS["id_column"],
        morphology_id_column: str | None = DEFAULTS["morphology_id_column"],
        features: Sequence[str] | str | None = DEFAULTS["features"],
        drop_invalid: bool = DEFAULTS["drop_invalid"],
        smooth_threshold: float = DEFAULTS["smooth_threshold"],
        edge_on_threshold: float = DEFAULTS["edge_on_threshold"],
        artifact_threshold: float = DEFAULTS["artifact_threshold"],
        keep_artifacts: bool = DEFAULTS["keep_artifacts"],
        edge_on_rule: str = DEFAULTS["edge_on_rule"],
        reducer: str = DEFAULTS["reducer"],
        n_neighbors: int = DEFAULTS["n_neighbors"],
        n_components: int = DEFAULTS["n_components"],
        map_components: int = DEFAULTS["map_components"],
        min_dist: float = DEFAULTS["min_dist"],
        metric: str = DEFAULTS["metric"],
        n_epochs: int | None = DEFAULTS["n_epochs"],
        pca_components: int | None = DEFAULTS["pca_components"],
        random_state: int = DEFAULTS["random_state"],
        n_seeds: int = DEFAULTS["n_seeds"],
        fit_sample_size: int | None = DEFAULTS["fit_sample_size"],
        engine: str = DEFAULTS["engine"],
        min_samples: int = DEFAULTS["min_samples"],
        min_cluster_size: int = DEFAULTS["min_cluster_size"],
        cluster_selection_method: str = DEFAULTS["cluster_selection_method"],
        scale_to_sample: bool = DEFAULTS["scale_to_sample"],
        ignore_memory_check: bool = DEFAULTS["ignore_memory_check"],
    ) -> None:
        self.id_column = id_column
        self.morphology_id_column = morphology_id_column
        self.features = features
        self.drop_invalid = drop_invalid
        self.smooth_threshold = smooth_threshold
        self.edge_on_threshold = edge_on_threshold
        self.artifact_threshold = artifact_threshold
        self.keep_artifacts = keep_artifacts
        self.edge_on_rule = edge_on_rule
        self.reducer = reducer
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.map_components = map_components
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.pca_components = pca_components
        self.random_state = random_state
        self.n_seeds = n_seeds
        self.fit_sample_size = fit_sample_size
        self.engine = engine
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.scale_to_sample = scale_to_sample
        self.ignore_memory_check = ignore_memory_check

    def fit(
        self,
        representations: TableLike,
        morphology: TableLike | None = None,
        run: RunFolder | None = None,
    ) -> RareClassSearch:
        """Read and check the tables, then select, reduce and cluster.

        Parameters
        ----------
        representations : path or DataFrame
            ``id_str`` (or ``id_column``) and ``feat_*`` columns, optionally the fractions.
        morphology : path or DataFrame, default=None
            Vote fractions joined on the id (``morphology_id_column``).
        run : RunFolder, default=None
            Record, cache and write each stage there (``run_search`` passes one).

        Returns
        -------
        self
        """
        params = validate(self.get_params())
        inputs = prepare_inputs(
            representations, morphology, params["id_column"], params["morphology_id_column"],
            params["features"], params["drop_invalid"],
        )  # fmt: skip
        check_widths(len(inputs.feature_names), params, inputs.sources.get("representations"))
        if run is None:
            return self._set_result(search(inputs, params, None))
        with run.transaction(whole=True):
            return self._set_result(search(inputs, params, run))

    def _set_result(self, result: SearchResult) -> RareClassSearch:
        self.ids_ = result.ids
        self.labels_ = result.labels
        self.probabilities_ = result.probabilities
        self.outlier_scores_ = result.outlier_scores
        self.embedding_ = result.embedding
        self.map_embedding_ = result.map_embedding
        self.clusters_ = result.clusters
        self.condensed_tree_ = result.condensed_tree
        self.selection_ = result.selection
        self.galaxies_ = result.galaxies
        self.counts_ = result.counts
        self.params_used_ = result.params_used
        self.warnings_ = result.warnings
        self.timings_ = result.timings
        self.seeds_ = result.seeds
        self.seed_labels_ = result.seed_labels
        self.consensus_ = result.consensus
        self.placement_ = result.placement
        self.run_path_ = None
        return self

    def predict(
        self, representations: TableLike, morphology: TableLike | None = None
    ) -> pd.DataFrame:
        """Place new galaxies into the fitted run, without refitting.

        The run's selection rules remove galaxies as they did in the fit (``cluster`` is
        ``NOT_SELECTED``, -2, and ``removed_by`` names the rule); the others are placed into
        the clustered embedding and the map, each independently of the batch it comes with,
        and assigned to a **leaf** cluster with a membership probability, or noise (-1)
        (``raregal.predict``).

        Parameters
        ----------
        representations : path or DataFrame
            The run's feature columns (the same names, in the same order) and ids; the vote
            fractions when the run selected by them.
        morphology : path or DataFrame, default=None
            Vote fractions joined on the id.

        Returns
        -------
        DataFrame
            id_str, cluster, probability, removed_by, umap_*, map_x, map_y and the catalog
            columns of the new table (``raregal.io.runfolder.TABLES['placed']``).
        """
        from raregal.predict import FittedRun, PlacementModel, place_galaxies

        if not hasattr(self, "labels_"):
            raise RaregalError("fit the search before placing new galaxies")
        model = self.placement_
        if model is None and self.run_path_ is not None:
            model = self.placement_ = PlacementModel.load(self.run_path_)
        if model is None:
            raise RaregalError(
                f"this search keeps no placement model (metric {self.params_used_['metric']!r} "
                "has no HNSW index): new galaxies cannot be placed"
            )
        params = validate(self.get_params())
        fitted = FittedRun(model, self.galaxies_, self.clusters_, self.condensed_tree_, params,
                           self.params_used_, self.run_path_)  # fmt: skip
        return place_galaxies(fitted, representations, morphology).table

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted search to a run folder (Parquet tables and run.json; no pickle)."""
        from raregal.search.record import record_search

        if not hasattr(self, "labels_"):
            raise RaregalError("fit the search before saving it")
        run = RunFolder(path)
        with run.transaction(whole=True):
            run.write_table("selection", self.selection_)
            run.write_table("embedding", embedding_frame(self.ids_, self.embedding_,
                                                         self.map_embedding_))  # fmt: skip
            run.write_table("galaxies", self.galaxies_)
            run.write_table("clusters", self.clusters_)
            run.write_table("condensed_tree", self.condensed_tree_)
            if self.seed_labels_ is not None and self.consensus_ is not None:
                run.write_table("seed_clusters", self.seed_labels_)
                run.write_table("consensus", self.consensus_)
            if self.placement_ is None and self.run_path_ is not None:
                from raregal.predict import PlacementModel

                self.placement_ = PlacementModel.load(self.run_path_)
            if self.placement_ is not None:
                self.placement_.save(run.path)
            record_search(run, self)
        return run.path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RareClassSearch:
        """Read a run folder written by ``save`` or ``run_search`` (checked by its contract)."""
        from raregal.errors import InputError

        run = RunFolder.open(path)
        record = run.record.get("search")
        if not record:
            raise InputError("run.json holds no search; run `raregal search` first", path=path)
        params = {k: v for k, v in record["params"].items() if k in PARAMETER_TABLE}
        search = cls(**params)
        galaxies = run.read_table("galaxies")
        used = record.get("params_used", {})
        n_components = used.get("n_components", DEFAULTS["n_components"])
        map_components = used.get("map_components", DEFAULTS["map_components"])
        search.galaxies_ = galaxies
        search.ids_ = galaxies[ID_COLUMN].astype(str).to_numpy()
        search.labels_ = galaxies["cluster"].to_numpy()
        search.probabilities_ = galaxies["probability"].to_numpy()
        search.outlier_scores_ = galaxies["outlier_score"].to_numpy()
        search.embedding_ = galaxies[umap_columns(n_components)].to_numpy()
        search.map_embedding_ = galaxies[map_columns(map_components)].to_numpy()
        search.clusters_ = run.read_table("clusters")
        search.condensed_tree_ = run.read_table("condensed_tree")
        search.selection_ = run.read_table("selection")
        search.counts_ = record.get("counts", {})
        search.params_used_ = used
        search.warnings_ = record.get("warnings", [])
        search.timings_ = {}
        search.seeds_ = list(record.get("seeds", [search.random_state]))
        many = run.has_table("seed_clusters") and run.has_table("consensus")
        search.seed_labels_ = run.read_table("seed_clusters") if many else None
        search.consensus_ = run.read_table("consensus") if many else None
        search.placement_ = None  # read when predict needs it
        search.run_path_ = run.path
        return search

