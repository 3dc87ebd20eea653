"""The run folder as the explorer reads it: map coordinates, clusters, tree, vote fractions.

Everything here is read-only; the explorer writes only its caches under ``RUN/explore/`` and the
marks table (``raregal.explore.marks``).
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, FRACTION_SUFFIX, ID_COLUMN, NOISE
from raregal.errors import InputError
from raregal.explore.tree import CondensedTree
from raregal.io.runfolder import RunFolder, cluster_letter
from raregal.io.tables import read_table

logger = logging.getLogger(__name__)

MAIN_FRACTIONS = (
    "smooth-or-featured_smooth_fraction",
    "smooth-or-featured_featured-or-disk_fraction",
    "smooth-or-featured_artifact_fraction",
    "disk-edge-on_yes_fraction",
    "has-spiral-arms_yes_fraction",
    "bar_strong_fraction",
    "bar_weak_fraction",
    "merging_merger_fraction",
)
"""Vote fractions shown on hover, where the representation table has them."""


def _finite(value: Any) -> Any:
    """JSON-safe scalar: numpy types to Python, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class ExploreRun:
    """A run folder opened for exploring.

    Parameters
    ----------
    path : path-like
        The run folder: ``galaxies.parquet`` and ``clusters.parquet`` are required,
        ``condensed_tree.parquet`` and ``run.json`` are read through the run-folder contract
        (``raregal.io.runfolder.RunFolder.open``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        run = RunFolder.open(self.path)
        self.galaxies = run.read_table("galaxies")
        self.n = len(self.galaxies)
        self.labels = self.galaxies["cluster"].to_numpy(np.int64)
        self.x = self.galaxies["map_x"].to_numpy(np.float32)
        self.y = self.galaxies["map_y"].to_numpy(np.float32)
        bad = int((~np.isfinite(self.x) | ~np.isfinite(self.y)).sum())
        if bad:
            raise InputError(
                f"{bad} galaxies have no finite map_x/map_y",
                path=self.path / "galaxies.parquet",
                column="map_x",
                count=bad,
            )
        self.clusters = run.read_table("clusters").sort_values("cluster").reset_index(drop=True)
        self.tree = CondensedTree(run.read_table("condensed_tree"), self.n,
                                  source=str(run.table_path("condensed_tree")))  # fmt: skip
        self.record = run.record
        self.placed = run.read_table("placed") if run.has_table("placed") else None
        """Galaxies placed later (``raregal predict --add``), shown apart from the fitted ones."""
        self._lock = threading.Lock()

    # -- representations -------------------------------------------------------------------------
    @cached_property
    def representation_path(self) -> Path | None:
        """The representation table: the run's own, or the input recorded in run.json."""
        own = self.path / "representations.parquet"
        if own.exists():
            return own
        entry = self.record.get("inputs", {}).get("representations", {})
        path = entry.get("path") if isinstance(entry, dict) else None
        if path and Path(path).exists():
            return Path(path)
        return None

    def representation_columns(self) -> list[str]:
        """Column names of the representation table (schema only where the format allows)."""
        path = self.representation_path
        if path is None:
            return []
        if path.suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        return list(read_table(path).columns)

    def read_representation(self, columns: list[str]) -> pd.DataFrame:
        """``columns`` of the representation table, aligned to the rows of galaxies.parquet."""
        path = self.representation_path
        if path is None:
            raise InputError("the run records no representation table", path=self.path / "run.json")
        table = read_table(path, columns=[ID_COLUMN, *[c for c in columns if c != ID_COLUMN]])
        table = table.drop_duplicates(ID_COLUMN).set_index(ID_COLUMN)
        aligned = table.reindex(self.galaxies[ID_COLUMN].astype(str).to_numpy())
        missing = int(aligned.isna().all(axis=1).sum()) if len(columns) else 0
        if missing:
            logger.warning(
                "%s: %d galaxies of the run are not in the representation table", path, missing
            )
        return aligned.reset_index(drop=True)

    @cached_property
    def fractions(self) -> pd.DataFrame:
        """The vote-fraction columns for every galaxy (empty frame when none are known)."""
        own = [c for c in self.galaxies.columns if str(c).endswith(FRACTION_SUFFIX)]
        if own:
            return self.galaxies[own]
        columns = [c for c in self.representation_columns() if c.endswith(FRACTION_SUFFIX)]
        if not columns:
            return pd.DataFrame(index=self.galaxies.index)
        return self.read_representation(columns)

    # -- queries ---------------------------------------------------------------------------------
    @cached_property
    def row_of_id(self) -> dict[str, int]:
        """Row in galaxies.parquet of each id_str."""
        ids = self.galaxies[ID_COLUMN].astype(str)
        return dict(zip(ids.tolist(), range(self.n), strict=True))

    def has_images(self) -> bool:
        return FILE_COLUMN in self.galaxies.columns

    def points_bytes(self) -> bytes:
        """map_x (float32), map_y (float32) and cluster (int32) of all galaxies, end to end."""
        return self.x.tobytes() + self.y.tobytes() + self.labels.astype(np.int32).tobytes()

    def placed_bytes(self) -> bytes:
        """map_x, map_y (float32) and cluster (int32) of the placed galaxies, end to end."""
        if self.placed is None:
            return b""
        x = self.placed["map_x"].to_numpy(np.float32)
        y = self.placed["map_y"].to_numpy(np.float32)
        return x.tobytes() + y.tobytes() + self.placed["cluster"].to_numpy(np.int32).tobytes()

    def cluster_table(self) -> list[dict[str, Any]]:
        """The clusters as JSON rows: cluster, letter, size, persistence, node, parent, ..."""
        keep = [
            c
            for c in (
                "cluster",
                "letter",
                "size",
                "persistence",
                "lambda_birth",
                "lambda_death",
                "node",
                "parent",
                "medoid_id",
                "mean_probability",
                "seed_stability",
            )
            if c in self.clusters
        ]
        return [
            {k: _finite(v) for k, v in row.items()}
            for row in self.clusters[keep].to_dict("records")
        ]

    def summary(self) -> dict[str, Any]:
        """What the page needs first: counts, bounds, clusters, which features are available."""
        return {
            "run": self.path.name,
            "n": self.n,
            "n_noise": int((self.labels == NOISE).sum()),
            "bounds": [
                float(self.x.min()),
                float(self.y.min()),
                float(self.x.max()),
                float(self.y.max()),
            ],
            "clusters": self.cluster_table(),
            "has_tree": self.tree is not None,
            "has_images": self.has_images(),
            "has_coordinates": {"ra", "dec"} <= set(self.galaxies.columns),
            "n_seeds": max(1, len((self.record.get("search") or {}).get("seeds") or [])),
            "n_placed": 0 if self.placed is None else len(self.placed),
        }

    def galaxy(self, row: int) -> dict[str, Any]:
        """One galaxy: id, cluster, probability, position and its main vote fractions."""
        g = self.galaxies.iloc[row]
        out: dict[str, Any] = {"row": row, ID_COLUMN: str(g[ID_COLUMN])}
        for col in (
            "cluster",
            "probability",
            "outlier_score",
            "ra",
            "dec",
            "map_x",
            "map_y",
            "true_class",
        ):
            if col in g.index:
                out[col] = _finite(g[col])
        out["letter"] = cluster_letter(int(g["cluster"]))
        with self._lock:
            fractions = self.fractions
        if len(fractions.columns):
            values = fractions.iloc[row]
            out["fractions"] = {
                c.removesuffix(FRACTION_SUFFIX): _finite(values[c])
                for c in MAIN_FRACTIONS
                if c in values.index
            }
        else:
            out["fractions"] = {}
        return out

    def gallery(self, mask: np.ndarray, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` members of ``mask``, most probable first.

        When the members span several clusters (a tree node above the leaves), the clusters take
        turns, so that each of the split clusters shows its most probable galaxies.
        """
        rows = np.flatnonzero(mask)
        if "probability" in self.galaxies:
            prob = np.nan_to_num(self.galaxies["probability"].to_numpy(np.float64)[rows])
            rows = rows[np.argsort(-prob, kind="stable")]
        labels = self.labels[rows]
        rank = np.zeros(len(rows), dtype=np.int64)
        for k in np.unique(labels):
            at = labels == k
            rank[at] = np.arange(at.sum())
        rows = rows[np.lexsort((rank, labels < 0))]
        return self.brief(rows[:limit])

    def brief(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Row, id and cluster of each galaxy in ``rows`` (for galleries)."""
        ids = self.galaxies[ID_COLUMN].astype(str).to_numpy()
        return [
            {
                "row": int(r),
                ID_COLUMN: ids[r],
                "cluster": int(self.labels[r]),
                "letter": cluster_letter(int(self.labels[r])),
            }
            for r in rows
        ]

    def node_of_cluster(self, cluster: int) -> int | None:
        """The condensed-tree node of a leaf cluster (None without a tree)."""
        if self.tree is None or "node" not in self.clusters:
            return None
        match = self.clusters.loc[self.clusters["cluster"] == cluster, "node"]
        return int(match.iloc[0]) if len(match) and match.iloc[0] >= 0 else None

    def node_info(self, node: int) -> dict[str, Any]:
        """A tree node: its parent, size, lambda of birth and the leaf clusters below it."""
        assert self.tree is not None
        below = set(self.tree.descendants(node))
        leaves = self.clusters[self.clusters["node"].isin(below)]
        return {
            "node": node,
            "parent": self.tree.parent(node),
            "is_root": node == self.tree.root,
            "size": int(self.tree.members(node).sum()),
            "lambda_birth": self.tree.lambda_birth(node),
            "clusters": leaves["cluster"].astype(int).tolist(),
            "letters": leaves["letter"].astype(str).tolist(),
        }

    def select_polygon(self, polygon: np.ndarray) -> np.ndarray:
        """Rows of the galaxies whose map position lies inside ``polygon`` (even-odd rule)."""
        return np.flatnonzero(points_in_polygon(self.x, self.y, polygon))


def points_in_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of the points inside a closed polygon (vertices, shape (k, 2); even-odd rule).

    Only the points within the polygon's bounding box are tested, edge by edge.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or len(polygon) < 3:
        raise InputError("a selection polygon needs at least 3 vertices given as [x, y]")
    inside = np.zeros(len(x), dtype=bool)
    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    box = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]))
    px, py = x[box].astype(np.float64), y[box].astype(np.float64)
    hit = np.zeros(len(box), dtype=bool)
    xj, yj = polygon[-1]
    for xi, yi in polygon:
        crosses = (yi > py) != (yj > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (xj - xi) * (py - yi) / (yj - yi) + xi
        hit ^= crosses & (px < x_cross)
        xj, yj = xi, yi
    inside[box[hit]] = True
    return inside
