"""The artifact gallery (Walmsley & Scaife 2023, Figure 2): one row of members per artifact cluster.

With the artifact rule off, some clusters gather imaging artifacts (bright stars, bleed trails,
satellite trails, missing bands, survey edges) instead of galaxies. ``create_artifact_gallery``
picks the clusters whose mean artifact vote fraction reaches the rule's threshold;
``render_artifact_gallery`` draws them as one figure, a row per cluster, from thumbnails that are
already written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from raregal.io.atomic import atomic_path

PER_ROW = 8
"""Members shown per artifact cluster, most probable first."""


def create_artifact_gallery(
    clusters: Sequence[Mapping[str, Any]], threshold: float, per_row: int = PER_ROW
) -> list[dict[str, Any]]:
    """The artifact clusters, most artifact-like first, each with its first members' thumbnails.

    Parameters
    ----------
    clusters : sequence of mapping
        The report's cluster rows: ``letter``, ``colour``, ``size``, ``artifact`` (mean artifact
        vote fraction, NaN when unknown), ``majority`` and ``members`` (each with ``src`` and
        ``found``).
    threshold : float
        Mean artifact fraction from which a cluster counts as an artifact cluster.
    per_row : int, default=PER_ROW
        Thumbnails per cluster.

    Returns
    -------
    list of dict
        ``letter``, ``colour``, ``size``, ``artifact``, ``majority`` and ``thumbs`` (paths
        relative to the report folder; unreadable images left out).
    """
    rows = [
        {
            "letter": c["letter"],
            "colour": c["colour"],
            "size": c["size"],
            "artifact": c["artifact"],
            "majority": c.get("majority", ""),
            "thumbs": [m["src"] for m in c["members"] if m["src"] and m["found"]][:per_row],
        }
        for c in clusters
        if c["artifact"] >= threshold
    ]
    return sorted(rows, key=lambda r: -r["artifact"])


def render_artifact_gallery(
    rows: Sequence[Mapping[str, Any]], report_dir: Path, path: Path, per_row: int = PER_ROW
) -> Path:
    """Draw the artifact clusters, one row each: letter and artifact fraction, then members.

    Thumbnails are read from ``report_dir / row['thumbs'][i]``; the figure is written (JPEG,
    atomically) to ``path``.
    """
    from PIL import Image, ImageDraw, ImageFont

    first = next((t for r in rows for t in r["thumbs"]), None)
    size = Image.open(report_dir / first).size[0] if first else 96
    gap, label = 3, max(120, size)
    width = label + per_row * (size + gap) + gap
    height = max(1, len(rows)) * (size + gap) + gap
    canvas = Image.new("RGB", (width, height), (18, 18, 22))
    draw = ImageDraw.Draw(canvas)
    big = ImageFont.load_default(size=max(16, size // 3))
    small = ImageFont.load_default(size=max(10, size // 9))
    for i, row in enumerate(rows):
        top = gap + i * (size + gap)
        draw.text(
            (8, top + size // 3), str(row["letter"]), fill=row["colour"], font=big, anchor="lm"
        )
        lines = [f"{row['size']:,} galaxies", f"artifact {row['artifact']:.2f}"]
        if row.get("majority"):
            lines.append(str(row["majority"]))
        for k, text in enumerate(lines):
            draw.text(
                (8, top + size * 0.62 + k * small.size * 1.2),
                text,
                fill=(225, 225, 230),
                font=small,
                anchor="lm",
            )
        for j, thumb in enumerate(row["thumbs"][:per_row]):
            with Image.open(report_dir / thumb) as tile:
                canvas.paste(
                    tile.convert("RGB").resize((size, size)), (label + j * (size + gap), top)
                )
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="JPEG", quality=90)
    return path
