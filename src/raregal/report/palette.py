"""One colour per cluster, shared by the map, the tree, the galleries and the table."""

from __future__ import annotations

import colorsys

NOISE_COLOUR = "#b8b8b8"

_BASE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#e6550d", "#31a354", "#756bb1", "#843c39", "#3182bd", "#de2d26",
)  # fmt: skip


def cluster_colours(n: int) -> list[str]:
    """``n`` distinct hex colours: a qualitative palette, then golden-ratio hues beyond it."""
    colours = list(_BASE[:n])
    hue = 0.11
    while len(colours) < n:
        hue = (hue + 0.618033988749895) % 1.0
        lightness = 0.42 + 0.12 * (len(colours) % 2)
        r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.7)
        colours.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return colours
