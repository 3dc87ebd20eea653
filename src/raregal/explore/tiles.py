"""Density tiles: the main population of a very large run, counted on the server.

Up to ``max_points`` galaxies the page receives every point. Beyond that it receives the
clustered galaxies (each cluster whole, unless the clusters alone exceed the budget: then the
largest are sampled) and a seeded random sample of the others (for hovering and thumbnails), and
draws the main population's density from tiles: square grids of ``TILE`` x ``TILE`` counts of
the galaxies in no cluster, on a quadtree over the map (level ``z`` cuts the map's square into
``2**z`` x ``2**z`` tiles). The page asks for the level whose cells are about one screen pixel,
so a redraw costs about one pass over the screen whatever the number of galaxies. Tiles are
computed on first request from the grid-sorted points and kept (least recently used first out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from raregal.constants import NOISE
from raregal.explore.points import PointGrid

TILE = 256
MAX_LEVEL = 10
MAX_CACHED = 512


def sample_rows(labels: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Rows sent to the page, at most ``max_points``: clustered galaxies first, then others.

    Every galaxy of every cluster is sent while they fit; when they do not, each cluster keeps
    up to the same number of galaxies (the largest number that fits), so that small (rare)
    clusters are sent whole and only the largest are sampled. The room left goes to a seeded
    random sample of the galaxies in no cluster. Returns all rows, in order, when there are no
    more than ``max_points`` galaxies.
    """
    n = len(labels)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    clustered = np.flatnonzero(labels != NOISE)
    if len(clustered) > max_points:
        ids, sizes = np.unique(labels[clustered], return_counts=True)
        cap = _water_level(sizes, max_points)
        clustered = np.concatenate([
            rng.choice(np.flatnonzero(labels == k), size=min(s, cap), replace=False)
            for k, s in zip(ids, sizes, strict=True)
        ])  # fmt: skip
    others = np.flatnonzero(labels == NOISE)
    room = max(max_points - len(clustered), 0)
    picked = rng.choice(others, size=min(room, len(others)), replace=False)
    return np.sort(np.concatenate([clustered, picked]))


def _water_level(sizes: np.ndarray, budget: int) -> int:
    """The largest cap c with sum(min(size, c)) <= budget."""
    lo, hi = 0, int(sizes.max())
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if np.minimum(sizes, mid).sum() <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


class DensityTiles:
    """Tiles of the counts of the galaxies in no cluster.

    Parameters
    ----------
    x, y : ndarray of float32, shape (n,)
        Display positions of all galaxies.
    labels : ndarray of int
        Cluster of each galaxy (``NOISE`` for the main population).
    grid : PointGrid
        The grid of all galaxies (``raregal.explore.points.build_grid``), used to find a tile's
        galaxies without scanning them all.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, labels: np.ndarray, grid: PointGrid):
        self.x, self.y, self.labels, self.grid = x, y, labels, grid
        self.x0, self.y0 = grid.x0, grid.y0
        self.span = grid.cell * grid.size
        self._cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def header(self) -> dict[str, float | int]:
        """What the page needs to ask for tiles."""
        return {"tile": TILE, "max_level": MAX_LEVEL, "x0": self.x0, "y0": self.y0,
                "span": self.span}  # fmt: skip

    def _rows_in(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        g = self.grid
        cx0 = max(0, int((x0 - g.x0) // g.cell))
        cx1 = min(g.size - 1, int((x1 - g.x0) // g.cell))
        cy0 = max(0, int((y0 - g.y0) // g.cell))
        cy1 = min(g.size - 1, int((y1 - g.y0) // g.cell))
        if cx0 > cx1 or cy0 > cy1:
            return np.empty(0, np.int64)
        starts = g.cell_start[np.arange(cy0, cy1 + 1) * g.size + cx0]
        ends = g.cell_start[np.arange(cy0, cy1 + 1) * g.size + cx1 + 1]
        if len(starts) == 0:
            return np.empty(0, np.int64)
        return np.concatenate([g.order[a:b] for a, b in zip(starts, ends, strict=True)])

    def tile(self, z: int, tx: int, ty: int) -> bytes:
        """Counts of tile (tx, ty) of level z: uint16, TILE rows of TILE, row 0 at the lowest y.

        Raises
        ------
        ValueError
            For a level or tile outside the quadtree.
        """
        if not (0 <= z <= MAX_LEVEL and 0 <= tx < 2**z and 0 <= ty < 2**z):
            raise ValueError(f"no tile {z}/{tx}/{ty} (levels 0 to {MAX_LEVEL})")
        key = (z, tx, ty)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        side = self.span / 2**z
        x0, y0 = self.x0 + tx * side, self.y0 + ty * side
        rows = self._rows_in(x0, y0, x0 + side, y0 + side)
        rows = rows[self.labels[rows] == NOISE]
        counts, _, _ = np.histogram2d(
            self.y[rows], self.x[rows], bins=TILE, range=[[y0, y0 + side], [x0, x0 + side]]
        )
        data = np.minimum(counts, 65535).astype("<u2").tobytes()
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return data
