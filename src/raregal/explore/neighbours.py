"""'More like this': an hnswlib index over the representation vectors, built once per run.

The index is saved with hnswlib's own binary format (not pickle) in ``RUN/explore/`` beside a JSON
note of what it was built from; it is rebuilt when that note no longer matches the run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import numpy as np

from raregal.errors import InputError, MissingDependencyError
from raregal.explore.data import ExploreRun
from raregal.io.atomic import atomic_path
from raregal.io.runfolder import params_key
from raregal.io.tables import feature_columns
from raregal.settings import num_threads

logger = logging.getLogger(__name__)

INDEX_FILE = "neighbours.hnsw"
NOTE_FILE = "neighbours.json"


class NeighbourIndex:
    """Nearest neighbours of any galaxy of a run in representation space.

    Parameters
    ----------
    run : ExploreRun
        The run; rows of ``galaxies.parquet`` are the index labels.
    M : int, default=16
        hnswlib graph degree.
    ef_construction : int, default=100
        hnswlib build breadth (recall against build time).
    ef : int, default=100
        hnswlib search breadth.

    Attributes
    ----------
    space_ : str
        ``"representation"`` (``feat_*`` of the representation table) or ``"umap"`` (the run's
        ``umap_*`` columns, used when no representation table can be found).
    """

    def __init__(self, run: ExploreRun, M: int = 16, ef_construction: int = 100, ef: int = 100):
        self.run = run
        self.M = M
        self.ef_construction = ef_construction
        self.ef = ef
        self.folder = run.path / "explore"
        self._lock = threading.Lock()
        self._index: Any = None
        self.space_: str | None = None

    @property
    def ready(self) -> bool:
        return self._index is not None

    def _vectors(self) -> tuple[np.ndarray, list[str], str]:
        columns = self.run.representation_columns()
        feats = [c for c in columns if c.startswith("feat_")]
        if feats:
            import pandas as pd

            feats = feature_columns(pd.DataFrame(columns=feats))
            table = self.run.read_representation(feats)
            return table.to_numpy(np.float32), feats, "representation"
        umap = [c for c in self.run.galaxies.columns if str(c).startswith("umap_")]
        if not umap:
            raise InputError(
                "no representation vectors: neither a representation table with feat_* columns "
                "nor umap_* columns in galaxies.parquet",
                path=self.run.path,
                column="feat_*",
            )
        logger.warning("no representation table found; 'more like this' uses the UMAP space")
        return self.run.galaxies[umap].to_numpy(np.float32), umap, "umap"

    def _key(self, columns: list[str], space: str) -> str:
        galaxies = self.run.path / "galaxies.parquet"
        source = self.run.representation_path
        stamp = [galaxies.stat().st_size, galaxies.stat().st_mtime_ns]
        if source is not None and space == "representation":
            stamp += [str(source), source.stat().st_size, source.stat().st_mtime_ns]
        params = {"M": self.M, "ef_construction": self.ef_construction, "columns": columns}
        return params_key(params, upstream=json.dumps(stamp))

    def ensure(self) -> NeighbourIndex:
        """Load the cached index or build it (once; concurrent callers wait for the first)."""
        with self._lock:
            if self._index is None:
                self._index = self._load_or_build()
        return self

    def _load_or_build(self) -> Any:
        try:
            import hnswlib
        except ImportError as exc:
            raise MissingDependencyError("hnswlib", "explore") from exc
        vectors, columns, space = self._vectors()
        self.space_ = space
        key = self._key(columns, space)
        index_path, note_path = self.folder / INDEX_FILE, self.folder / NOTE_FILE
        finite = np.flatnonzero(np.isfinite(vectors).all(axis=1))
        index = hnswlib.Index(space="l2", dim=vectors.shape[1])
        if note_path.exists() and index_path.exists():
            note = json.loads(note_path.read_text())
            if note.get("key") == key:
                index.load_index(str(index_path), max_elements=len(vectors))
                index.set_ef(self.ef)
                logger.info("loaded the neighbour index of %d galaxies", index.get_current_count())
                return index
        start = time.perf_counter()
        logger.info(
            "building the neighbour index of %d galaxies (%s space, %d dims), once per run",
            len(finite),
            space,
            vectors.shape[1],
        )
        index.init_index(
            max_elements=max(len(vectors), 1),
            M=self.M,
            ef_construction=self.ef_construction,
            random_seed=0,
        )
        index.set_num_threads(num_threads())
        if len(finite):
            index.add_items(vectors[finite], finite)
        index.set_ef(self.ef)
        seconds = time.perf_counter() - start
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(index_path) as tmp:
                index.save_index(str(tmp))
            with atomic_path(note_path) as tmp:
                note = {"key": key, "space": space, "count": len(finite), "seconds": seconds}
                tmp.write_text(json.dumps(note, indent=2))
        except OSError as exc:
            logger.warning(
                "cannot cache the neighbour index in %s (%s); it lives in memory "
                "until the server stops",
                self.folder,
                exc,
            )
        logger.info("built the neighbour index in %.1f s", seconds)
        if len(finite) < len(vectors):
            logger.warning(
                "%d galaxies have no finite vector and are left out of the index",
                len(vectors) - len(finite),
            )
        return index

    def query(self, row: int, k: int = 24) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest other galaxies of ``row``: (rows, distances), nearest first."""
        self.ensure()
        index = self._index
        count = index.get_current_count()
        if count < 2:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        try:
            vector = index.get_items([row])
        except RuntimeError as exc:
            raise InputError(f"galaxy row {row} has no representation vector") from exc
        labels, dists = index.knn_query(np.asarray(vector, np.float32), k=min(k + 1, count))
        labels, dists = labels[0].astype(np.int64), dists[0]
        keep = labels != row
        return labels[keep][:k], np.sqrt(np.maximum(dists[keep][:k], 0))
