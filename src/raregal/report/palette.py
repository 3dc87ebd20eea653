"""The one palette of raregal's pictures: the report's figures and the explorer's page both use it.

Cluster colours are mid-luminance so that they read on the report's white page and on the
explorer's dark map alike; the explorer receives them from its server (``palette_json``), so cluster
C has the same colour everywhere. Continuous columns use a perceptually uniform sequential scale
(viridis), and marks a colour per tag.
"""

from __future__ import annotations

import colorsys
import hashlib
from typing import Any

NOISE_COLOUR = "#b8b8b8"
"""Galaxies outside every cluster, on a light background (report)."""
NOISE_COLOUR_DARK = "#5b6472"
"""Galaxies outside every cluster, on a dark background (explorer)."""
MISSING_COLOUR = "#8a8f98"
"""A galaxy without a value of the column the map is coloured by."""

_BASE = (
    "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7",
    "#9c755f", "#3d9df3", "#d37295", "#8cd17d", "#b6992d", "#a87cf0", "#e8743b", "#2fb8a6",
)  # fmt: skip

_VIRIDIS = (
    "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
    "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
)  # fmt: skip
"""Anchors of matplotlib's viridis at 0, 0.1, ..., 1 (interpolated linearly between them)."""

DARK_START = 0.15
"""Where the sequential scale starts on the explorer's dark map."""
TAG_COLOURS = {"interesting": "#f0b400", "artifact": "#e8590c"}
"""The suggested tags' colours; any other tag gets a stable colour from its name."""


def cluster_colours(n: int) -> list[str]:
    """``n`` distinct hex colours: a qualitative palette, then golden-ratio hues beyond it."""
    colours = list(_BASE[:n])
    hue = 0.11
    while len(colours) < n:
        hue = (hue + 0.618033988749895) % 1.0
        lightness = 0.5 + 0.08 * (len(colours) % 2)
        r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
        colours.append(_hex(r, g, b))
    return colours


def cluster_colour(cluster: int) -> str:
    """The colour of cluster number ``cluster`` (noise for a negative number)."""
    if cluster < 0:
        return NOISE_COLOUR
    return cluster_colours(cluster + 1)[cluster]


def tag_colour(tag: str) -> str:
    """The colour of a mark's tag: fixed for the suggested tags, stable from the name otherwise."""
    if tag in TAG_COLOURS:
        return TAG_COLOURS[tag]
    hue = int(hashlib.sha1(tag.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    return _hex(*colorsys.hls_to_rgb(hue, 0.58, 0.7))


def sequential(t: float) -> str:
    """The sequential colour (viridis) of ``t`` in [0, 1] (clipped)."""
    t = min(max(float(t), 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    a, b = _rgb(_VIRIDIS[i]), _rgb(_VIRIDIS[i + 1])
    f = t - i
    return _hex(*((x + (y - x) * f) / 255 for x, y in zip(a, b, strict=True)))


def sequential_lut(steps: int = 256, start: float = 0.0) -> list[str]:
    """``steps`` colours of the sequential scale, low to high, from ``start`` of it to its end.

    On a dark background the scale starts at 0.15, where its darkest purple still shows.
    """
    return [sequential(start + (1 - start) * i / (steps - 1)) for i in range(steps)]


def palette_json(n_clusters: int) -> dict[str, Any]:
    """Everything the explorer page needs to colour as the report does."""
    return {
        "clusters": cluster_colours(n_clusters),
        "noise": NOISE_COLOUR_DARK,
        "missing": MISSING_COLOUR,
        "sequential": sequential_lut(start=DARK_START),
        "tags": dict(TAG_COLOURS),
    }


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _hex(r: float, g: float, b: float) -> str:
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
