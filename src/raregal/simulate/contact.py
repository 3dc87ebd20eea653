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
