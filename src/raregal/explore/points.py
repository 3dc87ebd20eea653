"""The map's points as the page receives them: display positions sorted cell by cell.

The page draws millions of points by walking typed arrays; sorting them by the cell of a square
grid over the map keeps its pixel writes close together in memory (fast redraws) and lets it skip
every cell outside the view and find the galaxy under the mouse in a few cells. The payload is
little-endian binary, in this order::

    float32 x[n]   float32 y[n]   int32 cluster[n]   int32 row[n]   int32 cell_start[G*G + 1]

``row`` is each point's row in ``galaxies.parquet``; points of grid cell ``c = gy * G + gx`` are
``cell_start[c]`` to ``cell_start[c + 1] - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PointGrid:
    """A square grid over the map and the order that sorts the points by its cells.

    Attributes
    ----------
    size : int
        Cells per side (G).
    x0, y0 : float
        Lower left corner of the grid (display coordinates).
    cell : float
        Side of a cell (display units).
    order : ndarray of int64, shape (n,)
        Rows of ``galaxies.parquet`` in cell order.
    cell_start : ndarray of int32, shape (G * G + 1,)
        Where each cell's points start in ``order``.
    """

    size: int
    x0: float
    y0: float
    cell: float
    order: np.ndarray
    cell_start: np.ndarray

    def header(self) -> dict[str, float | int]:
        """What the page needs to read the payload's grid."""
        return {"size": self.size, "x0": self.x0, "y0": self.y0, "cell": self.cell}


def grid_size(n: int) -> int:
    """Cells per side: about four points per cell, between 16 and 1024."""
    return int(np.clip(round(np.sqrt(max(n, 1) / 4)), 16, 1024))


def build_grid(x: np.ndarray, y: np.ndarray) -> PointGrid:
    """The cell order of the points ``(x, y)`` (display coordinates)."""
    n = len(x)
    size = grid_size(n)
    x0 = float(x.min()) if n else 0.0
    y0 = float(y.min()) if n else 0.0
    span = max(float(x.max()) - x0, float(y.max()) - y0, 1e-9) if n else 1.0
    cell = span / size * 1.0001
    gx = np.minimum(((x - x0) / cell).astype(np.int64), size - 1)
    gy = np.minimum(((y - y0) / cell).astype(np.int64), size - 1)
    key = gy * size + gx
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=size * size)
    cell_start = np.zeros(size * size + 1, dtype=np.int32)
    np.cumsum(counts, out=cell_start[1:])
    return PointGrid(size, x0, y0, cell, order, cell_start)


def points_payload(
    x: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    grid: PointGrid,
    rows: np.ndarray | None = None,
) -> bytes:
    """The binary payload described in the module docstring.

    ``x``, ``y``, ``labels`` and ``grid`` may cover a subset of the galaxies; ``rows`` then gives
    each entry's row in ``galaxies.parquet`` (all rows in order by default).
    """
    order = grid.order
    rows = order if rows is None else np.asarray(rows)[order]
    parts = (
        x[order].astype("<f4"),
        y[order].astype("<f4"),
        labels[order].astype("<i4"),
        rows.astype("<i4"),
        grid.cell_start.astype("<i4"),
    )
    return b"".join(p.tobytes() for p in parts)
