"""Thumbnails for the galleries: written once per run into ``report/thumbs/``, reused after.

A missing or unreadable image becomes the shared placeholder and is counted, never a crash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from raregal.io.atomic import atomic_path

log = logging.getLogger(__name__)

PLACEHOLDER = "missing.png"


@dataclass(frozen=True)
class Thumb:
    """One gallery image: its file name inside the thumbs folder and whether it is real."""

    name: str
    found: bool


def thumb_name(file_loc: str, size: int) -> str | None:
    """A file name safe in any file system and URL, for this image file as it is now and this size.

    The key holds the file's size and modification time, so a replaced image gets a new
    thumbnail; None when the file cannot be seen.
    """
    try:
        stat = os.stat(file_loc)
    except OSError:
        return None
    key = f"{file_loc}|{size}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()[:20] + ".jpg"


def write_thumb(source: str, target: Path, size: int) -> bool:
    """Write a square ``size`` px JPEG of ``source`` at ``target``; False if it cannot be read.

    Images are decoded as the encoder sees them (``raregal.encode.images.load_image``: JPEG, PNG,
    and FITS with an arcsinh stretch), so the galleries show what the model was shown.
    """
    from PIL import Image

    from raregal.encode.images import ImageError, Preprocessing, load_image

    try:
        pixels = load_image(source, Preprocessing(image_size=size))
    except ImageError as exc:
        log.debug("no thumbnail: %s", exc)
        return False
    with atomic_path(target) as tmp:
        Image.fromarray(pixels.transpose(1, 2, 0)).save(tmp, format="JPEG", quality=88)
    return True


def write_placeholder(folder: Path, size: int) -> Path:
    """The shared placeholder: a dark square with a cross and 'no image'."""
    from PIL import Image, ImageDraw

    path = folder / PLACEHOLDER
    image = Image.new("RGB", (size, size), (58, 58, 64))
    draw = ImageDraw.Draw(image)
    draw.line((0, 0, size, size), fill=(90, 90, 98), width=2)
    draw.line((0, size, size, 0), fill=(90, 90, 98), width=2)
    draw.text((size // 2, size // 2), "no image", fill=(220, 220, 225), anchor="mm")
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def create_thumbs(
    file_locs: Sequence[str | None], folder: Path, size: int, workers: int | None = None
) -> list[Thumb]:
    """Thumbnails of ``file_locs`` in ``folder``; existing ones are reused, not redrawn.

    Parameters
    ----------
    file_locs : sequence of str or None
        Absolute image paths (None or empty for a galaxy without an image).
    folder : Path
        ``report/thumbs``; created if needed.
    size : int
        Edge of the square thumbnails in pixels.
    workers : int, optional
        Threads that decode images (Pillow releases the GIL); default ``min(4, cpus)``.

    Returns
    -------
    list of Thumb
        One per input, in order; ``found`` is False where the placeholder stands in.
    """
    from tqdm.auto import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    write_placeholder(folder, size)

    def one(file_loc: str | None) -> Thumb:
        if not isinstance(file_loc, str) or not file_loc:
            return Thumb(PLACEHOLDER, False)
        name = thumb_name(file_loc, size)
        if name is None:
            log.debug("no thumbnail: %s: file not found", file_loc)
            return Thumb(PLACEHOLDER, False)
        if (folder / name).exists() or write_thumb(file_loc, folder / name, size):
            return Thumb(name, True)
        return Thumb(PLACEHOLDER, False)

    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = pool.map(one, file_locs)
        thumbs = list(tqdm(jobs, total=len(file_locs), desc="thumbnails", unit="img",
                           mininterval=2, leave=False))  # fmt: skip
    missing = sum(not t.found for t in thumbs)
    if missing:
        log.warning("%d of %d gallery images are missing or unreadable", missing, len(thumbs))
    return thumbs
