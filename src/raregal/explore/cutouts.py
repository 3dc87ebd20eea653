"""The object view's cutout: a galaxy's image at its own resolution, PNG for the browser.

PNG and JPEG files are sent as they are (their bytes, at full resolution). FITS images are
stretched with an arcsinh (``raregal.encode.images.arcsinh_stretch``: sky and noise from the
median and MAD, ``softening`` times the noise as the linear scale) and their bands mapped to RGB
as the encoder maps them, without resizing. Files are found by row only, never by a path from a
request.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from raregal.errors import InputError
from raregal.explore.data import ExploreRun

MIN_SOFTENING, MAX_SOFTENING = 0.05, 50.0
MAX_FITS_SIDE = 4096


@dataclass(frozen=True)
class Cutout:
    """An image ready to send: its bytes and media type."""

    data: bytes
    media_type: str


def read_cutout(run: ExploreRun, row: int, softening: float = 1.0) -> Cutout | None:
    """The full-resolution image of ``row``; None when the galaxy has no readable image.

    Parameters
    ----------
    run : ExploreRun
    row : int
        Row in ``galaxies.parquet``.
    softening : float, default=1.0
        FITS only: the arcsinh softening in units of the sky noise (smaller shows fainter
        structure); clipped to [0.05, 50].
    """
    path = run.image_path(row)
    if path is None or not path.is_file():
        return None
    kind = run.image_format(row)
    if kind == "png":
        return Cutout(path.read_bytes(), "image/png")
    if kind == "jpeg":
        return Cutout(path.read_bytes(), "image/jpeg")
    if kind == "fits":
        softening = float(np.clip(softening, MIN_SOFTENING, MAX_SOFTENING))
        return Cutout(fits_png(path, softening), "image/png")
    return _other(path)


def fits_png(path, softening: float = 1.0) -> bytes:
    """A FITS image (2-D, or a cube of bands) as an arcsinh-stretched RGB PNG at full resolution."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(fits_rgb(path, softening)).save(buffer, format="PNG")
    return buffer.getvalue()


def fits_rgb(path, softening: float = 1.0) -> np.ndarray:
    """A FITS image as an (H, W, 3) uint8 RGB array at full resolution, arcsinh-stretched."""
    import warnings

    from astropy.io import fits

    from raregal.encode.images import ImageError, arcsinh_stretch, bands_to_channels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdul:
            data = next((h.data for h in hdul if h.data is not None and h.data.ndim >= 2), None)
            if data is None:
                raise ImageError("FITS file has no image HDU with 2 or 3 dimensions", path=path)
            data = np.asarray(data, dtype=np.float32)
    if data.ndim == 3 and data.shape[-1] <= 4 < data.shape[0]:
        data = np.moveaxis(data, -1, 0)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3 or max(data.shape[1:]) > MAX_FITS_SIDE:
        raise ImageError(f"FITS image of shape {data.shape} is not a cutout", path=path)
    bands = np.stack([arcsinh_stretch(band, softening) for band in data])
    rgb = bands_to_channels(bands, 3)
    pixels = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return np.ascontiguousarray(pixels)


def _other(path) -> Cutout:
    """Any other format Pillow reads, re-encoded as PNG."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
    except OSError as exc:
        raise InputError(f"cannot read the image ({exc})", path=path) from exc
    return Cutout(buffer.getvalue(), "image/png")
