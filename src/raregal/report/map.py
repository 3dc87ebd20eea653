"""The 2-D map figure: the main population as density shading, clusters in colour, labelled.

The map readable at any size: far islands are pulled in next to the main population inside dashed
frames (``raregal.report.map_layout``: the same layout as the explorer's), galaxies in no cluster
are drawn as density shading, small clusters get larger dots, and labels (the cluster letter and
its short description, when clusters.parquet has a ``description``) never overlap: each moves to
the nearest free place around its cluster, with a leader line.

``create_map`` computes positions, colours, sizes, the density image and the label texts;
``render_map`` only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.report.figure import save_figure
from raregal.report.map_layout import compact_layout
from raregal.report.palette import NOISE_COLOUR

SMALL_CLUSTER_SCALE = ((60, 3.0), (400, 1.8))
"""Clusters of up to this many galaxies get dots this many times larger."""
MAX_DESCRIPTION = 28


@dataclass
class MapData:
    """Points, density and labels of the map, fully specified for drawing.

    Attributes
    ----------
    points : DataFrame
        Clustered galaxies: ``x``, ``y`` (display positions), ``colour``, ``size`` (dot area).
    noise : DataFrame
        ``x``, ``y`` of the galaxies in no cluster.
    density : ndarray of float, shape (bins, bins)
        Smoothed counts of ``noise`` on a grid over ``extent`` (rows are y), for the shading.
    extent : tuple of float
        ``(x0, x1, y0, y1)`` of the density grid.
    centres : DataFrame
        ``letter``, ``label`` (letter and short description), ``colour``, ``x``, ``y`` (median
        display position of the members), ``x0``, ``y0``, ``x1``, ``y1`` (the box of the 2nd to
        98th percentiles, kept clear of labels), ``size``, one row per cluster.
    islands : DataFrame
        Frames of the islands pulled in (``x0``, ``y0``, ``x1``, ``y1``), see ``MapLayout.moved``.
    placed : DataFrame or None
        Galaxies placed later (``raregal predict --add``): ``x``, ``y`` (the display position of
        the fitted galaxy each is placed on) and ``colour``; drawn as open diamonds on top.
    """

    points: pd.DataFrame
    noise: pd.DataFrame
    density: np.ndarray
    extent: tuple[float, float, float, float]
    centres: pd.DataFrame
    islands: pd.DataFrame
    placed: pd.DataFrame | None = None


def short_description(text: object) -> str:
    """A description cut to ``MAX_DESCRIPTION`` characters for a label ('' for none)."""
    if not isinstance(text, str) or not text.strip():
        return ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def dot_scale(size: int) -> float:
    """How much larger than the base dot a cluster of ``size`` galaxies is drawn."""
    for limit, scale in SMALL_CLUSTER_SCALE:
        if size <= limit:
            return scale
    return 1.0


def create_map(
    galaxies: pd.DataFrame,
    clusters: pd.DataFrame,
    colours: dict[int, str],
    placed: pd.DataFrame | None = None,
) -> MapData:
    """Positions, colours, sizes, density and labels for the map.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``cluster``, ``map_x``, ``map_y``.
    clusters : DataFrame
        Requires ``cluster``, ``letter``; ``description`` is used when present.
    colours : dict
        Cluster number -> hex colour.
    placed : DataFrame, default=None
        Galaxies placed later (placed.parquet): ``cluster`` and ``nearest_id``, the fitted
        galaxy each sits on (so it takes that galaxy's display position).
    """
    labels = galaxies["cluster"].to_numpy()
    layout = compact_layout(galaxies["map_x"].to_numpy(float), galaxies["map_y"].to_numpy(float))
    x, y = layout.x.astype(float), layout.y.astype(float)
    n = len(labels)
    base = float(np.clip(4000 / max(n, 1), 0.6, 14))
    sizes = clusters.set_index("cluster")["size"] if "size" in clusters else pd.Series(dtype=int)
    clustered = labels >= 0
    scale = np.array([dot_scale(int(sizes.get(int(k), 10**9))) for k in labels[clustered]])
    points = pd.DataFrame(
        {
            "x": x[clustered],
            "y": y[clustered],
            "colour": [colours.get(int(k), NOISE_COLOUR) for k in labels[clustered]],
            "size": base * 1.6 * scale,
        }
    )
    noise = pd.DataFrame({"x": x[~clustered], "y": y[~clustered]})
    if n:
        pad = 0.05 * max(np.ptp(x), np.ptp(y), 1e-9)  # room for the frames of moved islands
        extent = (x.min() - pad, x.max() + pad, y.min() - pad, y.max() + pad)
    else:
        extent = (0.0, 1.0, 0.0, 1.0)
    density = density_image(noise["x"].to_numpy(), noise["y"].to_numpy(), extent)
    frame = pd.DataFrame({"cluster": labels[clustered], "x": x[clustered], "y": y[clustered]})
    groups = frame.groupby("cluster")[["x", "y"]]
    medians = groups.median()
    low, high = groups.quantile(0.02), groups.quantile(0.98)
    medians = medians.assign(x0=low["x"], y0=low["y"], x1=high["x"], y1=high["y"])
    keep = ["cluster", "letter"] + [c for c in ("description", "size") if c in clusters.columns]
    centres = clusters[keep].merge(medians, left_on="cluster", right_index=True, how="inner")
    descriptions = centres["description"] if "description" in centres else [""] * len(centres)
    centres["label"] = [
        f"{letter} · {short}" if (short := short_description(d)) else str(letter)
        for letter, d in zip(centres["letter"], descriptions, strict=True)
    ]
    centres["colour"] = [colours[int(c)] for c in centres["cluster"]]
    if "size" not in centres:
        centres["size"] = frame.groupby("cluster").size().reindex(centres["cluster"]).to_numpy()
    return MapData(
        points.reset_index(drop=True),
        noise.reset_index(drop=True),
        density,
        tuple(float(v) for v in extent),
        centres.reset_index(drop=True),
        layout.moved,
        _placed_points(galaxies, x, y, placed, colours),
    )


def _placed_points(
    galaxies: pd.DataFrame, x: np.ndarray, y: np.ndarray, placed: pd.DataFrame | None,
    colours: dict[int, str],
) -> pd.DataFrame | None:  # fmt: skip
    """Display positions and colours of the placed galaxies: those of their anchors."""
    if placed is None or not len(placed) or "nearest_id" not in placed:
        return None
    row_of = pd.Series(np.arange(len(galaxies)), index=galaxies["id_str"].astype(str))
    rows = row_of.reindex(placed["nearest_id"].astype(str)).to_numpy()
    found = ~np.isnan(rows)
    rows = rows[found].astype(int)
    clusters = placed["cluster"].to_numpy()[found]
    colour = [colours.get(int(k), NOISE_COLOUR) for k in clusters]
    return pd.DataFrame({"x": x[rows], "y": y[rows], "colour": colour})


def density_image(
    x: np.ndarray, y: np.ndarray, extent: tuple[float, float, float, float]
) -> np.ndarray:
    """Smoothed counts of the points on a grid over ``extent`` (rows are y).

    The grid has about one cell per 10 points along each side (60 to 400 cells), smoothed with a
    Gaussian of 1.2 cells, so that a few thousand galaxies give shading rather than specks.
    """
    from scipy.ndimage import gaussian_filter

    bins = int(np.clip(np.sqrt(max(len(x), 1)) * 1.5, 60, 400))
    counts, _, _ = np.histogram2d(y, x, bins=bins, range=[extent[2:], extent[:2]])
    return gaussian_filter(counts, 1.2)


RINGS = [(0.0, 0.0)] + [
    (1.6 * ring * np.cos(k * np.pi / 4), ring * np.sin(k * np.pi / 4))
    for ring in (14, 26, 40, 56, 76)
    for k in range(8)
]
"""Label places around a cluster, in pixels from its centre (or its box's edge)."""
SMALL_ON_SCREEN = 60
"""Clusters whose box is smaller than this many pixels must not be covered by any label."""


def _candidates(box, w: float, h: float, small: bool) -> list[tuple[float, float]]:
    """Label centres (pixels) around a cluster's pixel box: outside it first when it is small."""
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    if not small:
        return [(cx + dx, cy + dy) for dx, dy in RINGS]
    half_w, half_h = (box.x1 - box.x0) / 2, (box.y1 - box.y0) / 2
    out = [(cx, box.y1 + h / 2 + 2), (cx, box.y0 - h / 2 - 2),
           (box.x1 + w / 2 + 3, cy), (box.x0 - w / 2 - 3, cy)]  # fmt: skip
    out += [
        (cx + dx + np.sign(dx) * half_w, cy + dy + np.sign(dy) * half_h) for dx, dy in RINGS[1:]
    ]
    return out


def _overlaps(box, others) -> bool:
    return any(box.overlaps(other) for other in others)


def place_labels(ax, centres: pd.DataFrame) -> list:
    """Label each cluster without covering another label or a small cluster; returns the boxes.

    Smallest clusters are placed first. A cluster small on screen gets its label just outside its
    box (below, above, right, left), then on rings further out, with a leader line; a big cluster's
    label may sit on its centre. The boxes of small clusters are obstacles for every label. When
    the letter and description fit nowhere, the letter alone is tried; a label that still fits
    nowhere inside the axes is left out.

    Parameters
    ----------
    ax : matplotlib Axes
        With its final limits and layout.
    centres : DataFrame
        ``letter``, ``label``, ``colour``, ``x``, ``y``, ``x0``, ``y0``, ``x1``, ``y1``, ``size``
        (see ``MapData.centres``).
    """
    import matplotlib.patheffects as effects
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    to_points = 72.0 / ax.figure.dpi
    halo = [effects.withStroke(linewidth=3, foreground="white")]
    frame_box = ax.get_window_extent(renderer)
    boxes = {}
    for row in centres.itertuples():
        (px0, py0), (px1, py1) = ax.transData.transform([(row.x0, row.y0), (row.x1, row.y1)])
        boxes[row.letter] = Bbox([[px0 - 3, py0 - 3], [px1 + 3, py1 + 3]])
    obstacles = [
        b for b in boxes.values() if b.width < SMALL_ON_SCREEN and b.height < SMALL_ON_SCREEN
    ]
    placed = []
    for row in centres.sort_values("size", kind="stable").itertuples():
        box = boxes[row.letter]
        small = box.width < SMALL_ON_SCREEN and box.height < SMALL_ON_SCREEN
        anchor = ax.transData.transform((row.x, row.y))
        for text in dict.fromkeys([row.label, row.letter]):
            size = 10 if text == row.letter else 8.5
            probe = ax.text(0, 0, text, fontsize=size, fontweight="bold")
            extent = probe.get_window_extent(renderer)
            probe.remove()
            w, h = extent.width * 1.08, extent.height * 1.15
            spot = None
            for lx, ly in _candidates(box, w, h, small):
                label_box = Bbox([[lx - w / 2, ly - h / 2], [lx + w / 2, ly + h / 2]])
                inside = frame_box.contains(label_box.x0, label_box.y0) and frame_box.contains(
                    label_box.x1, label_box.y1
                )
                if (
                    inside
                    and not _overlaps(label_box, placed)
                    and not _overlaps(label_box, obstacles)
                ):
                    spot = (lx, ly, label_box)
                    break
            if spot is None:
                continue
            lx, ly, label_box = spot
            offset = ((lx - anchor[0]) * to_points, (ly - anchor[1]) * to_points)
            leader = np.hypot(*offset) > 10
            arrow = {"arrowstyle": "-", "color": row.colour, "lw": 0.8, "shrinkA": 0, "shrinkB": 2}
            ax.annotate(
                text, (row.x, row.y), xytext=offset, textcoords="offset points", color=row.colour,
                fontsize=size, fontweight="bold", ha="center", va="center", path_effects=halo,
                zorder=5, arrowprops=arrow if leader else None, gid=f"label-{row.letter}",
            )  # fmt: skip
            placed.append(label_box)
            break
    return placed


def render_map(data: MapData, path: Path, title: str = "") -> Path:
    """Draw the map into a PNG (atomically) and return its path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap, PowerNorm
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = data.extent
    height = float(np.clip(8.5 * (y1 - y0) / max(x1 - x0, 1e-9) + 0.8, 4.5, 9))
    fig, ax = plt.subplots(figsize=(9, height), dpi=110)
    if data.density.max() > 0:
        shade = LinearSegmentedColormap.from_list("shade", ["#f4f5f7", "#a3aab5"]).with_extremes(
            bad=(0, 0, 0, 0)
        )
        floor = data.density.max() * 0.01
        masked = np.ma.masked_where(data.density <= floor, data.density)
        ax.imshow(masked, origin="lower", extent=data.extent, cmap=shade, aspect="auto",
                  norm=PowerNorm(0.5, vmin=floor, vmax=data.density.max()),
                  interpolation="bilinear", zorder=0)  # fmt: skip
    if 0 < len(data.noise) <= 20000:
        ax.scatter(data.noise["x"], data.noise["y"], s=0.5, c=NOISE_COLOUR, lw=0, alpha=0.6,
                   rasterized=True, zorder=1)  # fmt: skip
    ax.scatter(data.points["x"], data.points["y"], s=data.points["size"], c=data.points["colour"],
               lw=0, alpha=0.9, rasterized=True, zorder=2)  # fmt: skip
    if data.placed is not None:
        ax.scatter(data.placed["x"], data.placed["y"], s=18, marker="D", facecolors="none",
                   edgecolors=data.placed["colour"], linewidths=0.8, rasterized=True, zorder=4,
                   label="placed later (raregal predict)")  # fmt: skip
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    for isl in data.islands.itertuples():
        w, h = isl.x1 - isl.x0, isl.y1 - isl.y0
        pad = 0.015 * max(x1 - x0, y1 - y0)
        ax.add_patch(Rectangle((isl.x0 - pad, isl.y0 - pad), w + 2 * pad, h + 2 * pad, fill=False,
                               ls=(0, (4, 3)), lw=0.9, ec="#667085", zorder=3))  # fmt: skip
        ax.text(isl.x0 - pad, isl.y0 - pad, "≈ moved closer", fontsize=7, color="#667085",
                va="top", ha="left", zorder=3)  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(
        "map_x" + (" (far islands moved closer: not to scale)" if len(data.islands) else "")
    )
    ax.set_ylabel("map_y")
    fig.tight_layout()
    place_labels(ax, data.centres)
    return save_figure(fig, ax, path, title, hidden_spines=("top", "right"))
