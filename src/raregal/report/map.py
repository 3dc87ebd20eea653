"""The 2-D map: every selected galaxy at (map_x, map_y), coloured by cluster, noise in grey.

``create_map`` computes the colours and the cluster centres; ``render_map`` only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.report.figure import save_figure
from raregal.report.palette import NOISE_COLOUR


@dataclass
class MapData:
    """Points and labels of the map, fully specified for drawing.

    Attributes
    ----------
    points : DataFrame
        ``map_x``, ``map_y``, ``colour``, ``is_noise``; noise first so that clusters draw on top.
    centres : DataFrame
        ``letter``, ``colour``, ``x``, ``y`` (median of the members), one row per cluster.
    placed : DataFrame or None
        ``map_x``, ``map_y``, ``colour`` of the galaxies placed later (``raregal predict
        --add``), drawn as open diamonds over the fitted ones.
    """

    points: pd.DataFrame
    centres: pd.DataFrame
    placed: pd.DataFrame | None = None


def create_map(
    galaxies: pd.DataFrame,
    clusters: pd.DataFrame,
    colours: dict[int, str],
    placed: pd.DataFrame | None = None,
) -> MapData:
    """Colours and centres for the map.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``cluster``, ``map_x``, ``map_y``.
    clusters : DataFrame
        Requires ``cluster``, ``letter``.
    colours : dict
        Cluster number -> hex colour.
    placed : DataFrame, default=None
        Galaxies placed later (placed.parquet): ``cluster``, ``map_x``, ``map_y``.
    """
    labels = galaxies["cluster"].to_numpy()
    points = pd.DataFrame(
        {
            "map_x": galaxies["map_x"].to_numpy(dtype=float),
            "map_y": galaxies["map_y"].to_numpy(dtype=float),
            "colour": [colours.get(int(c), NOISE_COLOUR) for c in labels],
            "is_noise": labels < 0,
        }
    )
    points = points.sort_values("is_noise", ascending=False, kind="stable")
    members = galaxies[labels >= 0]
    medians = members.groupby("cluster")[["map_x", "map_y"]].median()
    centres = clusters[["cluster", "letter"]].merge(
        medians, left_on="cluster", right_index=True, how="inner"
    )
    centres = centres.rename(columns={"map_x": "x", "map_y": "y"})
    centres["colour"] = [colours[int(c)] for c in centres["cluster"]]
    placed_points = None
    if placed is not None and len(placed):
        placed_points = pd.DataFrame({
            "map_x": placed["map_x"].to_numpy(dtype=float),
            "map_y": placed["map_y"].to_numpy(dtype=float),
            "colour": [colours.get(int(c), NOISE_COLOUR) for c in placed["cluster"]],
        })  # fmt: skip
    return MapData(points.reset_index(drop=True), centres.reset_index(drop=True), placed_points)


def render_map(data: MapData, path: Path, title: str = "") -> Path:
    """Draw the map into a PNG (atomically) and return its path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.patheffects as effects
    import matplotlib.pyplot as plt

    points = data.points
    n = len(points)
    size = float(np.clip(4000 / max(n, 1), 0.6, 18))
    fig, ax = plt.subplots(figsize=(8, 7), dpi=110)
    noise = points[points["is_noise"]]
    members = points[~points["is_noise"]]
    ax.scatter(noise["map_x"], noise["map_y"], s=size, c=NOISE_COLOUR, lw=0, alpha=0.5,
               rasterized=True, label="noise")  # fmt: skip
    ax.scatter(members["map_x"], members["map_y"], s=size * 1.6, c=members["colour"], lw=0,
               alpha=0.85, rasterized=True)  # fmt: skip
    if data.placed is not None:
        ax.scatter(data.placed["map_x"], data.placed["map_y"], s=max(size * 6, 10), marker="D",
                   facecolors="none", edgecolors=data.placed["colour"], linewidths=0.8,
                   rasterized=True, label="placed later")  # fmt: skip
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    halo = [effects.withStroke(linewidth=3, foreground="white")]
    for row in data.centres.itertuples():
        ax.text(row.x, row.y, row.letter, color=row.colour, fontsize=13, fontweight="bold",
                ha="center", va="center", path_effects=halo)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("map_x")
    ax.set_ylabel("map_y")
    return save_figure(fig, ax, path, title, hidden_spines=("top", "right"))
