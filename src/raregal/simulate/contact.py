"""Contact sheets: one PNG per class with the first cutouts of that class, to look at."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from raregal.constants import FILE_COLUMN

logger = logging.getLogger(__name__)


def contact_sheet(paths: list[Path], columns: int = 6, tile: int = 128, gap: int = 2) -> np.ndarray:
    """Tile cutouts (PNG or FITS) into one (H, W, 3) uint8 image, ``columns`` per row."""
    from PIL import Image

    from raregal.simulate.render import read_cutout_rgb

    rows = max(1, -(-len(paths) // columns))
    sheet = np.full((rows * (tile + gap) + gap, columns * (tile + gap) + gap, 3), 40, np.uint8)
    for k, path in enumerate(paths):
        image = Image.fromarray(read_cutout_rgb(path)).resize(
            (tile, tile), Image.Resampling.BILINEAR
        )
        r, c = divmod(k, columns)
        y, x = gap + r * (tile + gap), gap + c * (tile + gap)
        sheet[y : y + tile, x : x + tile] = np.asarray(image)
    return sheet


def write_contact_sheets(
    survey: str | os.PathLike[str], per_class: int = 36, tile: int = 128
) -> list[Path]:
    """Write ``survey/contact/<class>.png`` for every class present in the survey's catalog."""
    from PIL import Image

    from raregal.io.atomic import atomic_path
    from raregal.io.tables import read_table

    root = Path(survey)
    catalog = read_table(root / "catalog.parquet", columns=["true_class", FILE_COLUMN])
    written = []
    for name, group in catalog.groupby("true_class", sort=True):
        paths = [root / p for p in group[FILE_COLUMN].head(per_class)]
        sheet = contact_sheet(paths, tile=tile)
        target = root / "contact" / f"{name}.png"
        with atomic_path(target) as tmp:
            Image.fromarray(sheet).save(tmp, format="PNG")
        written.append(target)
    logger.info("wrote %d contact sheets to %s", len(written), root / "contact")
    return written


def comparison_sheet(
    rows: list[tuple[str, list[Path], list[Path]]], per_side: int = 5, tile: int = 56, gap: int = 2
) -> np.ndarray:
    """Rows of simulated cutouts beside real ones: ``(label, simulated, real)`` per row.

    Each row shows its label, ``per_side`` simulated tiles, a wider gap, then ``per_side`` real
    tiles (any RGB image files); returns an (H, W, 3) uint8 image.
    """
    from PIL import Image, ImageDraw, ImageFont

    from raregal.simulate.render import read_cutout_rgb

    label_width = 150
    width = label_width + 2 * per_side * (tile + gap) + 4 * gap
    height = len(rows) * (tile + gap) + gap + 16
    sheet = Image.new("RGB", (width, height), (32, 32, 36))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=11)
    left_real = label_width + per_side * (tile + gap) + 4 * gap
    draw.text((label_width, 2), "simulated", fill=(220, 220, 225), font=font)
    draw.text((left_real, 2), "real (Galaxy Zoo examples)", fill=(220, 220, 225), font=font)
    for r, (label, simulated, real) in enumerate(rows):
        top = 16 + gap + r * (tile + gap)
        for k, text in enumerate(label.split("\n")):
            draw.text((4, top + 4 + 13 * k), text, fill=(230, 230, 235), font=font)
        for side, paths in ((label_width, simulated), (left_real, real)):
            for k, path in enumerate(paths[:per_side]):
                image = Image.fromarray(read_cutout_rgb(path)).resize(
                    (tile, tile), Image.Resampling.LANCZOS
                )
                sheet.paste(image, (side + k * (tile + gap), top))
    return np.asarray(sheet)
