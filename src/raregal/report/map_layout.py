"""Where the map draws each galaxy: far islands pulled in next to the main population.

Rare classes tend to sit far from the main population on a 2-D UMAP, so a map framed to hold them
all squeezes the main population into a corner and leaves the rare clusters as slivers. The
compact layout finds the islands of the map (connected groups of occupied cells on a coarse grid),
keeps the main population (every island with at least ``core_share`` of the galaxies) where it
is, and moves each island that lies further than ``far`` times the main population's extent from
it in along the same direction, to a gap of ``gap`` times that extent, without overlapping another
island. An island moves as a whole, so its inner layout stays to scale; pictures draw a dashed
frame around each moved island to mark the broken scale.

The report's map and the explorer both use ``compact_layout``, so they show the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ISLAND_COLUMNS = ("island", "n", "x0", "y0", "x1", "y1", "dx", "dy")


@dataclass
class MapLayout:
    """Display positions of the galaxies and the islands that were moved.

    Attributes
    ----------
    x, y : ndarray of float32, shape (n,)
        Where each galaxy is drawn (``map_x``, ``map_y`` plus its island's shift).
    island : ndarray of int32, shape (n,)
        The island of each galaxy (-1 where the layout found no islands).
    moved : DataFrame
        One row per moved island: ``island``, ``n`` (galaxies), ``x0``, ``y0``, ``x1``, ``y1``
        (its frame in display coordinates) and ``dx``, ``dy`` (the shift that was applied).
    core : tuple of float
        ``(x0, y0, x1, y1)`` of the main population, which is never moved.
    """

    x: np.ndarray
    y: np.ndarray
    island: np.ndarray
    moved: pd.DataFrame
    core: tuple[float, float, float, float]

    @property
    def is_compact(self) -> bool:
        """True when some island was moved (the map's scale is broken)."""
        return len(self.moved) > 0


def _grid_size(n: int) -> int:
    return int(np.clip(round(np.sqrt(max(n, 1)) / 2), 48, 256))


def _islands(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Island number of each point: 8-connected occupied cells, grown by one cell."""
    from scipy import ndimage

    x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
    cell = max(x1 - x0, y1 - y0, 1e-12) / size
    gx = np.minimum(((x - x0) / cell).astype(np.int64), size - 1)
    gy = np.minimum(((y - y0) / cell).astype(np.int64), size - 1)
    occupied = np.zeros((size, size), dtype=bool)
    occupied[gy, gx] = True
    grown = ndimage.binary_dilation(occupied, structure=np.ones((3, 3), bool))
    labels, _ = ndimage.label(grown, structure=np.ones((3, 3), bool))
    return labels[gy, gx].astype(np.int32) - 1


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two boxes ``(x0, y0, x1, y1)`` (0 when they overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return float(np.hypot(dx, dy))


def compact_layout(
    x: np.ndarray,
    y: np.ndarray,
    far: float = 0.12,
    gap: float = 0.06,
    core_share: float = 0.1,
    min_island: int = 10,
) -> MapLayout:
    """Pull far islands of the map in next to the main population.

    Parameters
    ----------
    x, y : array-like of float, shape (n,)
        ``map_x`` and ``map_y``.
    far : float, default=0.12
        An island further than ``far`` times the main population's extent (its larger side) from
        it is moved.
    gap : float, default=0.06
        The gap left between a moved island and whatever it is placed next to, in the same unit.
    core_share : float, default=0.1
        Islands holding at least this share of the galaxies form the main population.
    min_island : int, default=10
        Smaller islands (stray galaxies) stay where they are: only groups are pulled in.

    Returns
    -------
    MapLayout
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(x)
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ISLAND_COLUMNS})
    if n < 3 or not (np.ptp(x) > 0 or np.ptp(y) > 0):
        core = (float(x.min(initial=0)), float(y.min(initial=0)),
                float(x.max(initial=0)), float(y.max(initial=0)))  # fmt: skip
        return MapLayout(x.astype(np.float32), y.astype(np.float32),
                         np.full(n, -1, np.int32), empty, core)  # fmt: skip
    island = _islands(x, y, _grid_size(n))
    count = np.bincount(island)
    ids = np.flatnonzero(count)
    boxes = {}
    for i in ids:
        member = island == i
        boxes[int(i)] = np.array(
            [x[member].min(), y[member].min(), x[member].max(), y[member].max()]
        )
    is_core = count[ids] >= core_share * n
    if not is_core.any():
        is_core = count[ids] == count[ids].max()
    core_ids = ids[is_core]
    core_box = np.array(
        [
            min(boxes[int(i)][0] for i in core_ids),
            min(boxes[int(i)][1] for i in core_ids),
            max(boxes[int(i)][2] for i in core_ids),
            max(boxes[int(i)][3] for i in core_ids),
        ]
    )
    extent = max(core_box[2] - core_box[0], core_box[3] - core_box[1], 1e-12)
    centre = (core_box[:2] + core_box[2:]) / 2
    far_ids = [
        int(i)
        for i in ids[~is_core]
        if count[i] >= min_island and _gap(boxes[int(i)], core_box) > far * extent
    ]
    far_ids.sort(key=lambda i: _gap(boxes[i], core_box))
    placed = [core_box] + [boxes[int(i)] for i in ids[~is_core] if int(i) not in far_ids]
    shift = np.zeros((int(ids.max()) + 1, 2))
    rows = []
    for i in far_ids:
        box = boxes[i]
        half = (box[2:] - box[:2]) / 2
        own_centre = (box[:2] + box[2:]) / 2
        direction = own_centre - centre
        distance = float(np.hypot(*direction))
        direction = direction / max(distance, 1e-12)
        margin = gap * extent

        def box_at(s: float, half=half, direction=direction) -> np.ndarray:
            c = centre + direction * s
            return np.concatenate([c - half, c + half])

        lo, hi = 0.0, distance
        for _ in range(50):  # the nearest distance along the ray with the gap to the core
            mid = (lo + hi) / 2
            if _gap(box_at(mid), core_box) >= margin:
                hi = mid
            else:
                lo = mid
        s, step = hi, margin
        while s < distance and any(_gap(box_at(s), other) < margin for other in placed):
            s += step
        s = min(s, distance)
        new_box = box_at(s)
        placed.append(new_box)
        shift[i] = new_box[:2] - box[:2]
        rows.append((i, int(count[i]), *new_box.tolist(), *shift[i].tolist()))
    moved = pd.DataFrame(rows, columns=list(ISLAND_COLUMNS)) if rows else empty
    moved = moved[(moved["dx"] != 0) | (moved["dy"] != 0)].reset_index(drop=True)
    out_x = (x + shift[island, 0]).astype(np.float32)
    out_y = (y + shift[island, 1]).astype(np.float32)
    return MapLayout(out_x, out_y, island, moved, tuple(float(v) for v in core_box))
