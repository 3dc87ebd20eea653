"""What a run keeps of its fitted reducer so that new galaxies can be placed later.

A run folder holds no model object: ``RUN/placement/`` (``raregal.io.runfolder.
PLACEMENT_FOLDER``) holds plain files that anyone can read, never a pickle:

- ``placement.json``: the UMAP parameters (``n_neighbors``, ``metric``, ``min_dist`` and the
  curve's ``a``, ``b``), the seed, the feature names and count, the selection rules, the number
  of fitted galaxies and the key of the reduce stage that made them;
- ``index.hnsw``: the HNSW search index over the fitted galaxies' (projected) representations,
  one element per row of galaxies.parquet (hnswlib's own file format, ``save_index``);
- ``knn_radius.npy``: each fitted galaxy's distance to its ``n_neighbors``-th nearest galaxy
  (itself counted first), from the fit's neighbour search: how dense its neighbourhood is;
- ``pca_mean.npy``, ``pca_components.npy``: the PCA applied before UMAP, when there was one
  (read with ``allow_pickle=False``).

The fitted positions are those of galaxies.parquet (``umap_*``, ``map_*``); placing needs
nothing else (``raregal.reduce.placement.place_independently``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raregal.errors import InputError, MissingDependencyError
from raregal.io.atomic import atomic_path
from raregal.io.runfolder import PLACEMENT_FOLDER
from raregal.reduce.neighbours import HNSW_METRICS, hnsw_index, hnsw_query
from raregal.reduce.stage import PcaProjection

logger = logging.getLogger(__name__)

MODEL_JSON = "placement.json"
INDEX_FILE = "index.hnsw"
PCA_MEAN = "pca_mean.npy"
PCA_COMPONENTS = "pca_components.npy"
RADIUS = "knn_radius.npy"
MODEL_VERSION = 1


@dataclass
class PlacementModel:
    """The fitted reducer as placing new galaxies needs it.

    Attributes
    ----------
    index : hnswlib.Index
        Over the fitted galaxies' representations (after ``projection``), rows as galaxies.
    n_fitted : int
    feature_names : list of str
        The representation columns the run was fitted on, in order.
    metric : str
    n_neighbors : int
    min_dist, a, b : float
        UMAP's ``min_dist`` and the curve it gives.
    random_state : int or None
    rules : list of dict
        The selection rules the run applied (``raregal.select.Rule`` fields); empty when it had
        no vote fractions.
    radius : ndarray of float32, shape (n_fitted,)
        Each fitted galaxy's distance to its ``n_neighbors``-th nearest galaxy (itself first).
    projection : PcaProjection or None
        The PCA applied before UMAP.
    key : str
        The reduce stage's key (run.json), to tell a stale model from the run's own.
    """

    index: Any
    n_fitted: int
    feature_names: list[str]
    metric: str
    n_neighbors: int
    min_dist: float
    a: float
    b: float
    random_state: int | None
    rules: list[dict[str, Any]] = field(default_factory=list)
    radius: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    projection: PcaProjection | None = None
    key: str = ""

    @property
    def dim(self) -> int:
        return int(self.index.dim)

    def project(self, X: np.ndarray) -> np.ndarray:
        """Representations in the space the index holds (the run's PCA, if any), float32."""
        X = np.asarray(X, dtype=np.float32)
        return np.ascontiguousarray(self.projection.transform(X) if self.projection else X)

    def place(
        self, X: np.ndarray, layouts: list[np.ndarray], epochs: list[int] | None = None
    ) -> Any:
        """Where new representations ``X`` (feature columns) go in each fitted layout, each
        galaxy independently of the others (``place_independently``: a ``Placement``).
        ``epochs``: refinement epochs per layout (default ``PLACE_EPOCHS``)."""
        from raregal.reduce.placement import PLACE_EPOCHS, place_independently

        if epochs is None:
            epochs = [PLACE_EPOCHS] * len(layouts)
        return place_independently(self.index, self.project(X), layouts, self.n_neighbors,
                                   self.metric, self.a, self.b, n_epochs=epochs,
                                   random_state=self.random_state)  # fmt: skip

    def facts(self) -> dict[str, Any]:
        """The JSON part (``placement.json``)."""
        return {
            "version": MODEL_VERSION, "n_fitted": self.n_fitted, "dim": self.dim,
            "feature_names": list(self.feature_names), "metric": self.metric,
            "n_neighbors": self.n_neighbors, "min_dist": self.min_dist, "a": self.a,
            "b": self.b, "random_state": self.random_state, "rules": self.rules,
            "pca": self.projection is not None, "key": self.key, "index": INDEX_FILE,
        }  # fmt: skip

    def save(self, run_path: str | os.PathLike[str]) -> Path:
        """Write ``RUN/placement/`` (each file atomically, ``placement.json`` last)."""
        folder = Path(run_path) / PLACEMENT_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / INDEX_FILE) as tmp:
            self.index.save_index(str(tmp))
        with atomic_path(folder / RADIUS) as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.asarray(self.radius, dtype=np.float32), allow_pickle=False)
        for name in (PCA_MEAN, PCA_COMPONENTS):
            (folder / name).unlink(missing_ok=True)
        if self.projection is not None:
            for name, array in ((PCA_MEAN, self.projection.mean),
                                (PCA_COMPONENTS, self.projection.components)):  # fmt: skip
                with atomic_path(folder / name) as tmp, open(tmp, "wb") as handle:
                    np.save(handle, np.asarray(array, dtype=np.float64), allow_pickle=False)
        with atomic_path(folder / MODEL_JSON) as tmp:
            tmp.write_text(json.dumps(self.facts(), indent=1))
        return folder

    @classmethod
    def load(cls, run_path: str | os.PathLike[str]) -> PlacementModel:
        """Read ``RUN/placement/``; InputError (one line, naming the file) when it is missing or
        does not fit together."""
        folder = Path(run_path) / PLACEMENT_FOLDER
        facts_path = folder / MODEL_JSON
        if not facts_path.exists():
            raise InputError(
                "the run keeps no placement model (placement/placement.json); run the search "
                "again with this raregal to place new galaxies", path=facts_path,
            )  # fmt: skip
        try:
            facts = json.loads(facts_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc})", path=facts_path) from None
        if facts.get("version") != MODEL_VERSION:
            raise InputError(f"placement model version {facts.get('version')!r}; this raregal "
                             f"reads {MODEL_VERSION}", path=facts_path)  # fmt: skip
        needed = [RADIUS, *((PCA_MEAN, PCA_COMPONENTS) if facts.get("pca") else ())]
        missing = [name for name in needed if not (folder / name).exists()]
        if missing:
            raise InputError(f"the placement model lacks {', '.join(missing)}; run the search "
                             "again", path=folder, count=len(missing))  # fmt: skip
        index = _load_index(folder / facts["index"], facts)
        radius = np.load(folder / RADIUS, allow_pickle=False)
        if len(radius) != int(facts["n_fitted"]):
            raise InputError(
                f"{RADIUS} holds {len(radius)} values, placement.json {facts['n_fitted']}",
                path=folder / RADIUS, count=len(radius),
            )  # fmt: skip
        projection = None
        if facts["pca"]:
            mean = np.load(folder / PCA_MEAN, allow_pickle=False)
            components = np.load(folder / PCA_COMPONENTS, allow_pickle=False)
            projection = PcaProjection(mean, components)
        return cls(index, int(facts["n_fitted"]), list(facts["feature_names"]), facts["metric"],
                   int(facts["n_neighbors"]), float(facts["min_dist"]), float(facts["a"]),
                   float(facts["b"]), facts["random_state"], list(facts["rules"]), radius,
                   projection, facts["key"])  # fmt: skip


def _load_index(path: Path, facts: dict[str, Any]) -> Any:
    try:
        import hnswlib
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("hnswlib", "all") from exc
    if not path.exists():
        raise InputError("the placement index is missing", path=path)
    index = hnswlib.Index(space=HNSW_METRICS[facts["metric"]], dim=int(facts["dim"]))
    index.load_index(str(path), max_elements=int(facts["n_fitted"]))
    if index.get_current_count() != int(facts["n_fitted"]):
        raise InputError(
            f"the placement index holds {index.get_current_count()} galaxies, placement.json "
            f"{facts['n_fitted']}", path=path, count=index.get_current_count(),
        )  # fmt: skip
    return index


def build_placement(
    X: np.ndarray,
    feature_names: list[str],
    params: dict[str, Any],
    rules: list[dict[str, Any]],
    key: str,
    index: Any = None,
    projection: PcaProjection | None = None,
    radius: np.ndarray | None = None,
) -> PlacementModel | None:
    """The placement model of a reduction, or None when its metric has no HNSW index.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        The representations that were reduced (before PCA), rows as galaxies.parquet.
    feature_names : list of str
    params : dict
        The reduce parameters used (``n_neighbors``, ``metric``, ``min_dist``, ``random_state``).
    rules : list of dict
        The selection rules applied (``vars(rule)``).
    key : str
        The reduce stage's key.
    index : hnswlib.Index, default=None
        The engine's own index over the projected input; built here when None (neighbours were
        exact, or another engine found them).
    projection : PcaProjection, default=None
    radius : ndarray of shape (n,), default=None
        The fit's distance of each galaxy to its ``n_neighbors``-th neighbour (itself first);
        found here from the index when None.
    """
    from umap.umap_ import find_ab_params

    if params["metric"] not in HNSW_METRICS:
        logger.info("no placement model: metric %r has no HNSW index", params["metric"])
        return None
    projected = None
    if index is None or radius is None or len(radius) != len(X):
        projected = np.ascontiguousarray(
            projection.transform(X) if projection is not None else X, dtype=np.float32
        )
    if index is None:
        index = hnsw_index(projected, params["metric"], params["random_state"])
    if radius is None or len(radius) != len(X):
        _, dists = hnsw_query(index, projected, int(params["n_neighbors"]), params["metric"])
        radius = dists[:, -1]
    a, b = find_ab_params(1.0, params["min_dist"])
    return PlacementModel(index, len(X), list(feature_names), params["metric"],
                          int(params["n_neighbors"]), float(params["min_dist"]), float(a),
                          float(b), params["random_state"], rules,
                          np.asarray(radius, dtype=np.float32), projection, key)  # fmt: skip
