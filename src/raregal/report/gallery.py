"""Galleries: per cluster, its members ordered by membership probability (paper Figs. 1 and 2).

``create_gallery`` picks the members to show; ``render_gallery`` only draws a mosaic figure from
thumbnails that are already written (see ``raregal.report.thumbs``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.io.atomic import atomic_path


def create_gallery(galaxies: pd.DataFrame, max_per_gallery: int) -> pd.DataFrame:
    """The members each gallery shows, best first.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``id_str``, ``cluster``, ``probability``; uses ``outlier_score`` to break ties,
        and carries ``file_loc``, ``ra``, ``dec`` when present.
    max_per_gallery : int
        Cap per cluster; the rest are counted in the report, not shown.

    Returns
    -------
    DataFrame
        One row per shown member: the columns above plus ``rank`` (0 = most probable), ordered by
        cluster then rank. Noise (cluster < 0) is never shown.
    """
    if max_per_gallery < 1:
        raise ValueError(f"max_per_gallery must be >= 1, got {max_per_gallery}")
    members = galaxies[galaxies["cluster"] >= 0]
    order = ["cluster", "probability"]
    ascending = [True, False]
    if "outlier_score" in members.columns:
        order.append("outlier_score")
        ascending.append(True)
    order.append(ID_COLUMN)
    ascending.append(True)
    members = members.sort_values(order, ascending=ascending, kind="stable")
    shown = members.groupby("cluster", sort=True).head(max_per_gallery).copy()
    shown["rank"] = shown.groupby("cluster").cumcount()
    keep = [ID_COLUMN, "cluster", "rank", "probability"]
    keep += [c for c in (FILE_COLUMN, "ra", "dec") if c in shown.columns]
    return shown[keep].reset_index(drop=True)


def render_gallery(
    thumb_paths: Sequence[Path],
    path: Path,
    title: str,
    subtitle: str,
    colour: str = "#ffffff",
    columns: int = 8,
) -> Path:
    """Draw one cluster's mosaic: its letter, size and persistence over a grid of thumbnails.

    Parameters
    ----------
    thumb_paths : sequence of Path
        Square thumbnails of equal size, best member first.
    path : Path
        Output image, written atomically as JPEG (photographs encode ten times faster than PNG).
    title, subtitle : str
        The cluster letter, and a line such as ``"412 galaxies · persistence 0.12"``.
    colour : str
        The cluster's colour (hex), used for the letter.
    columns : int
        Thumbnails per row.
    """
    from PIL import Image, ImageDraw, ImageFont

    tiles = [Image.open(p) for p in thumb_paths]
    size = tiles[0].size[0] if tiles else 96
    columns = max(1, min(columns, len(tiles)))
    rows = max(1, math.ceil(len(tiles) / columns))
    gap, header = 3, max(40, size // 3)
    width = columns * size + (columns + 1) * gap
    height = header + rows * size + (rows + 1) * gap
    canvas = Image.new("RGB", (width, height), (18, 18, 22))
    for i, tile in enumerate(tiles):
        row, col = divmod(i, columns)
        canvas.paste(tile, (gap + col * (size + gap), header + gap + row * (size + gap)))
    draw = ImageDraw.Draw(canvas)
    big = ImageFont.load_default(size=int(header * 0.7))
    small = ImageFont.load_default(size=max(11, int(header * 0.32)))
    draw.text((gap + 4, header // 2), title, fill=colour, font=big, anchor="lm")
    left = gap + 12 + draw.textlength(title, font=big)
    draw.text((left, header // 2), subtitle, fill=(225, 225, 230), font=small, anchor="lm")
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="JPEG", quality=90)
    return path


def gallery_columns(n_shown: int, preferred: int = 8) -> int:
    """Columns for a mosaic: ``preferred`` unless fewer members, square-ish for tiny clusters."""
    return int(max(1, min(preferred, n_shown, np.ceil(np.sqrt(n_shown) * 2))))
