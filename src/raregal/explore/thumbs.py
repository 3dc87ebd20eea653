"""Thumbnails made once from each galaxy's image and cached in ``RUN/explore/thumbs/``.

A thumbnail is asked for by row number only, so no path from a request ever reaches the disk.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from raregal.constants import FILE_COLUMN
from raregal.explore.data import ExploreRun
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)

THUMB_SIZE = 128


class Thumbnails:
    """Cached JPEG thumbnails of a run's galaxies.

    Parameters
    ----------
    run : ExploreRun
        The run; ``galaxies.parquet`` must have ``file_loc`` for thumbnails to exist.
    size : int, default=128
        Longest side of a thumbnail in pixels.
    """

    def __init__(self, run: ExploreRun, size: int = THUMB_SIZE) -> None:
        self.run = run
        self.size = size
        self.folder = run.path / "explore" / "thumbs"
        self._locks = [threading.Lock() for _ in range(64)]

    def path(self, row: int) -> Path | None:
        """The cached thumbnail of ``row``, made now if needed; None when there is no image."""
        if not self.run.has_images() or not 0 <= row < self.run.n:
            return None
        target = self.folder / f"{row}.jpg"
        if target.exists():
            return target
        with self._locks[row % len(self._locks)]:
            if target.exists():
                return target
            source = str(self.run.image_path(row) or self.run.galaxies[FILE_COLUMN].iat[row])
            try:
                make_thumbnail(source, target, self.size)
            except (OSError, ValueError) as exc:
                logger.warning("no thumbnail for row %d: cannot read %s (%s)", row, source, exc)
                return None
        return target

    def prepare(self, rows: range | list[int] | None = None) -> int:
        """Make the thumbnails of ``rows`` (all galaxies by default); returns how many exist."""
        from tqdm.auto import tqdm

        rows = range(self.run.n) if rows is None else rows
        made = 0
        for row in tqdm(rows, desc="thumbnails", unit="img", mininterval=2):
            made += self.path(row) is not None
        return made


def make_thumbnail(source: str, target: Path, size: int = THUMB_SIZE) -> None:
    """Write a JPEG thumbnail of the image ``source`` (longest side ``size``) atomically.

    FITS images get the object view's arcsinh stretch (``raregal.explore.cutouts.fits_rgb``).
    """
    from PIL import Image

    from raregal.encode.images import FITS_SUFFIXES

    if source.lower().endswith(FITS_SUFFIXES):
        from raregal.explore.cutouts import fits_rgb

        image = Image.fromarray(fits_rgb(source))
    else:
        with Image.open(source) as opened:
            image = opened.convert("RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        image.save(tmp, format="JPEG", quality=85)
