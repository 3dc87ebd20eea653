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
from raregal.explore.points import PointGrid, build_grid, points_payload
from raregal.explore.tiles import DensityTiles, sample_rows
from raregal.explore.tree import CondensedTree
from raregal.io.runfolder import RunFolder, cluster_letter
from raregal.io.tables import read_table
from raregal.report.glossary import GLOSSARY
from raregal.report.map_layout import MapLayout, compact_layout
from raregal.report.palette import cluster_colours, palette_json
from raregal.report.sky import SIMULATED_NOTE, coordinates_simulated, sky_links
from raregal.schema import GZ_DESI

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
CLUSTER_EXTRAS = (
    "persistence",
    "lambda_birth",
    "lambda_death",
    "node",
    "parent",
    "medoid_id",
    "mean_probability",
    "description",
    "interest",
    "interest_rank",
    "main_population",
    "seed_stability",
)
"""Columns of clusters.parquet passed to the page when the table has them."""
GALAXY_EXTRAS = ("probability", "outlier_score", "anomaly_score", "ra", "dec", "true_class")
"""Columns of galaxies.parquet shown in the object view when the table has them."""
IMAGE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
CENTRAL = 4
"""Thumbnails shown beside each cluster in the list: its most probable members."""
MAX_POINTS = 2_500_000
"""Galaxies sent to the page as points; beyond, the main population comes as density tiles."""


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
    max_points : int, default=2_500_000
        Galaxies sent to the page as points. A larger run sends every clustered galaxy and a
        random sample of the others, and its main population as density tiles
        (``raregal.explore.tiles``).
    """

    def __init__(self, path: str | Path, max_points: int = MAX_POINTS) -> None:
        self.path = Path(path).resolve()
        run = RunFolder.open(self.path)
        self.galaxies = with_anomaly_scores(run, run.read_table("galaxies"))
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
        self.tree_table = run.read_table("condensed_tree")
        self.tree = CondensedTree(self.tree_table, self.n,
                                  source=str(run.table_path("condensed_tree")))  # fmt: skip
        self.record = run.record
        self.placed = run.read_table("placed") if run.has_table("placed") else None
        """Galaxies placed later (``raregal predict --add``), shown apart from the fitted ones."""
        self._lock = threading.Lock()
        self.layout: MapLayout = compact_layout(self.x, self.y)
        self.view_x, self.view_y = self.layout.x, self.layout.y
        self.grid: PointGrid = build_grid(self.view_x, self.view_y)
        self.sent = sample_rows(self.labels, max_points)
        if len(self.sent) < self.n:
            self.tiles: DensityTiles | None = DensityTiles(
                self.view_x, self.view_y, self.labels, self.grid
            )
            self.page_grid = build_grid(self.view_x[self.sent], self.view_y[self.sent])
        else:
            self.tiles, self.page_grid = None, self.grid
        top = int(max(self.labels.max(initial=-1), self.clusters["cluster"].max()
                      if len(self.clusters) else -1))  # fmt: skip
        self.colours = cluster_colours(top + 1)
        self.simulated = coordinates_simulated(self.record, self.path)

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
        """Display positions, clusters and rows in grid-cell order (``raregal.explore.points``)."""
        if self.tiles is None:
            return points_payload(self.view_x, self.view_y, self.labels, self.grid)
        s = self.sent
        return points_payload(self.view_x[s], self.view_y[s], self.labels[s], self.page_grid, s)

    def colour_of(self, cluster: int) -> str:
        """The cluster's colour in the shared palette (the report's)."""
        return self.colours[cluster] if 0 <= cluster < len(self.colours) else ""

    @cached_property
    def _centres(self) -> dict[int, tuple[float, ...]]:
        """Median display position of each cluster's members, and the box holding most of them.

        Returns cluster -> (x, y, x0, y0, x1, y1); the box spans the 2nd to 98th percentiles, so
        that labels can be kept off the cluster they name.
        """
        clustered = self.labels >= 0
        if not clustered.any():
            return {}
        frame = pd.DataFrame(
            {"k": self.labels[clustered], "x": self.view_x[clustered], "y": self.view_y[clustered]}
        )
        groups = frame.groupby("k")[["x", "y"]]
        medians, low, high = groups.median(), groups.quantile(0.02), groups.quantile(0.98)
        box = pd.concat([medians, low, high], axis=1).to_numpy(np.float64)
        return {
            int(k): tuple(float(v) for v in values)
            for k, values in zip(medians.index, box, strict=True)
        }

    def placed_bytes(self) -> bytes:
        """Display x, y (float32) and cluster (int32) of the placed galaxies, end to end: each
        at the display position of the fitted galaxy it is placed on (``nearest_id``)."""
        if self.placed is None or "nearest_id" not in self.placed:
            return b""
        rows = [self.row_of_id.get(str(i), -1) for i in self.placed["nearest_id"]]
        rows = np.asarray(rows, dtype=np.int64)
        known = rows >= 0
        x = np.full(len(rows), np.nan, dtype=np.float32)  # NaN (not drawn) without an anchor
        y = x.copy()
        x[known], y[known] = self.view_x[rows[known]], self.view_y[rows[known]]
        labels = self.placed["cluster"].to_numpy(np.int32)
        return x.tobytes() + y.tobytes() + labels.tobytes()

    def cluster_table(self) -> list[dict[str, Any]]:
        """The clusters as JSON rows: cluster, letter, size, colour, centre, the extras it has."""
        keep = ["cluster", "letter", "size", *[c for c in CLUSTER_EXTRAS if c in self.clusters]]
        rows = []
        for row in self.clusters[keep].to_dict("records"):
            out = {k: _finite(v) for k, v in row.items()}
            k = int(out["cluster"])
            out["colour"] = self.colour_of(k)
            where = self._centres.get(k)
            out["centre"] = list(where[:2]) if where else [None, None]
            out["box"] = list(where[2:]) if where else None
            if isinstance(out.get("description"), str):
                out["description"] = out["description"].strip()
            out["central"] = self._central.get(k, [])
            rows.append(out)
        return rows

    @cached_property
    def _central(self) -> dict[int, list[int]]:
        """Cluster -> rows of its ``CENTRAL`` most probable members (thumbnails in the list)."""
        probability = np.nan_to_num(self.galaxies["probability"].to_numpy(np.float64))
        members = np.flatnonzero(self.labels >= 0)
        order = members[np.lexsort((members, -probability[members], self.labels[members]))]
        out: dict[int, list[int]] = {}
        for row in order:
            mine = out.setdefault(int(self.labels[row]), [])
            if len(mine) < CENTRAL:
                mine.append(int(row))
        return out

    def summary(self) -> dict[str, Any]:
        """What the page needs first: counts, bounds, clusters, which features are available."""
        bounds = [
            float(self.view_x.min(initial=0)),
            float(self.view_y.min(initial=0)),
            float(self.view_x.max(initial=0)),
            float(self.view_y.max(initial=0)),
        ]
        return {
            "run": self.path.name,
            "n": len(self.sent),
            "n_total": self.n,
            "n_noise": int((self.labels == NOISE).sum()),
            "bounds": bounds,
            "grid": self.page_grid.header(),
            "tiles": self.tiles.header() if self.tiles is not None else None,
            "islands": self.layout.moved.to_dict("records"),
            "clusters": self.cluster_table(),
            "palette": palette_json(len(self.colours)),
            "glossary": GLOSSARY,
            "has_tree": self.tree is not None,
            "has_images": self.has_images(),
            "has_coordinates": {"ra", "dec"} <= set(self.galaxies.columns),
            "has_anomaly": "anomaly_score" in self.galaxies.columns,
            "has_descriptions": "description" in self.clusters.columns,
            "simulated": self.simulated,
            "sky_note": SIMULATED_NOTE if self.simulated else "",
            "n_seeds": max(1, len((self.record.get("search") or {}).get("seeds") or [])),
            "n_placed": 0 if self.placed is None else len(self.placed),
        }

    def galaxy(self, row: int) -> dict[str, Any]:
        """One galaxy: id, cluster, probability, position and its main vote fractions."""
        g = self.galaxies.iloc[row]
        out: dict[str, Any] = {"row": row, ID_COLUMN: str(g[ID_COLUMN])}
        for col in ("cluster", *GALAXY_EXTRAS, "map_x", "map_y"):
            if col in g.index:
                out[col] = _finite(g[col])
        out["view"] = [float(self.view_x[row]), float(self.view_y[row])]
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

    def object_view(self, row: int) -> dict[str, Any]:
        """Everything the object view shows of one galaxy beyond ``galaxy``.

        All vote fractions grouped by question, the cluster's description, the image's format,
        and sky links (switched off, with a note, for simulated coordinates).
        """
        out = self.galaxy(row)
        with self._lock:
            fractions = self.fractions
        values = fractions.iloc[row] if len(fractions.columns) else pd.Series(dtype=float)
        out["questions"] = [
            {
                "question": q.name,
                "answers": [
                    {"answer": a, "value": _finite(values[c])}
                    for a, c in zip(q.answers, q.fraction_columns, strict=True)
                ],
            }
            for q in GZ_DESI
            if all(c in values.index for c in q.fraction_columns)
        ]
        k = int(out["cluster"])
        match = self.clusters[self.clusters["cluster"] == k]
        if len(match) and "description" in match.columns:
            text = match["description"].iloc[0]
            out["description"] = text if isinstance(text, str) else ""
        out["colour"] = self.colour_of(k)
        out["image"] = self.image_format(row)
        links = {} if self.simulated else sky_links(out.get("ra"), out.get("dec"))
        out["links"] = links
        out["sky_note"] = SIMULATED_NOTE if self.simulated else ""
        return out

    def image_path(self, row: int) -> Path | None:
        """The image file of ``row`` (relative paths are the run folder's), or None."""
        if not self.has_images():
            return None
        value = self.galaxies[FILE_COLUMN].iat[row]
        if not isinstance(value, str) or not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.path / path

    def image_format(self, row: int) -> str | None:
        """'png', 'jpeg' or 'fits' for the image of ``row``; None without one."""
        from raregal.encode.images import FITS_SUFFIXES

        path = self.image_path(row)
        if path is None:
            return None
        name = path.name.lower()
        if name.endswith(FITS_SUFFIXES):
            return "fits"
        return IMAGE_FORMATS.get(path.suffix.lower(), "other")

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
        """Rows of the galaxies drawn inside ``polygon`` (display coordinates, even-odd rule)."""
        return np.flatnonzero(points_in_polygon(self.view_x, self.view_y, polygon))


def with_anomaly_scores(run: RunFolder, galaxies: pd.DataFrame) -> pd.DataFrame:
    """``galaxies`` with ``anomaly_score`` and ``anomaly_rank`` from ``candidates.parquet`` (the
    weirdest-first queue, ``raregal rank``) when the run has it, so the map can be coloured by it
    and the object view shows it."""
    if not run.has_table("candidates") or "anomaly_score" in galaxies.columns:
        return galaxies
    queue = run.read_table("candidates", columns=[ID_COLUMN, "anomaly_score", "anomaly_rank"])
    queue = queue.assign(**{ID_COLUMN: queue[ID_COLUMN].astype(str)}).set_index(ID_COLUMN)
    ids = galaxies[ID_COLUMN].astype(str)
    return galaxies.assign(anomaly_score=ids.map(queue["anomaly_score"]).to_numpy(float),
                           anomaly_rank=ids.map(queue["anomaly_rank"]).to_numpy(float))


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
