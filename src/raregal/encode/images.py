"""Images to arrays, as Zoobot preprocesses them: RGB in [0, 1], square, no mean/std normalisation.

JPEG and PNG are read with Pillow (greyscale and RGBA converted to RGB; 16-bit and float images
scaled to 8 bits, not clipped); FITS with astropy, each band scaled with an arcsinh stretch and
the bands mapped to colour channels. An image without a finite pixel is refused (``ImageError``:
``embed`` lists it in the failures table). An optional centre zoom
crops the middle ``1 / zoom`` of the image before it is resized.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raregal.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".fits", ".fit", ".fits.gz", ".fit.gz", ".fits.fz")
FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz", ".fits.fz")


class ImageError(InputError):
    """An image file that cannot be decoded; ``embed`` records it in the failures table."""


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input.

    Parameters
    ----------
    image_size : int, default=224
        Side of the square input in pixels.
    channels : int, default=3
        3 for RGB models; 1 for the greyscale Zoobot encoders.
    zoom : float, default=1.0
        Centre zoom: keep the middle ``1 / zoom`` of the image (1.0 keeps all of it).
    arcsinh_softening : float, default=1.0
        FITS only: the arcsinh stretch is ``arcsinh((x - sky) / (softening * noise))``.
    """

    image_size: int = 224
    channels: int = 3
    zoom: float = 1.0
    arcsinh_softening: float = 1.0

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise InputError(f"image_size must be at least 8 pixels, got {self.image_size}")
        if self.channels not in (1, 3):
            raise InputError(f"channels must be 1 or 3, got {self.channels}")
        if self.zoom < 1.0:
            raise InputError(f"zoom must be >= 1.0 (1.0 keeps the whole image), got {self.zoom}")


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has a supported image suffix."""
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def load_image(path: str | os.PathLike[str], prep: Preprocessing = Preprocessing()) -> np.ndarray:
    """Read one image as a ``(channels, size, size)`` uint8 array (divide by 255 for [0, 1]).

    Raises
    ------
    ImageError
        The file is missing, empty, truncated or not an image; the message says which.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError("file not found", path=path)
    if path.stat().st_size == 0:
        raise ImageError("empty file", path=path)
    try:
        if str(path).lower().endswith(FITS_SUFFIXES):
            return _load_fits(path, prep)
        return _load_pillow(path, prep)
    except ImageError:
        raise
    except Exception as exc:  # every decoder failure means: this file is not a usable image
        raise ImageError(f"cannot decode image ({type(exc).__name__}: {exc})", path=path) from exc


def _load_pillow(path: Path, prep: Preprocessing) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        # JPEG: decode at a reduced scale (DCT scaling) when the image is much larger than needed
        needed = int(np.ceil(prep.image_size * prep.zoom))
        im.draft("RGB" if prep.channels == 3 else "L", (needed, needed))
        mode = "RGB" if prep.channels == 3 else "L"
        if im.mode in WIDE_MODES:
            im = Image.fromarray(scale_to_uint8(np.asarray(im), path), mode="L")
        if im.mode in ("RGBA", "LA", "P") and mode == "RGB":
            im = im.convert("RGBA")
            background = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(background, im)
        im = im.convert(mode)
        im = _crop_centre(im, prep.zoom)
        im = im.resize((prep.image_size, prep.image_size), Image.Resampling.BILINEAR)
        array = np.asarray(im, dtype=np.uint8)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(array)


WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
"""Pillow's 16-bit, 32-bit integer and float modes: scaled to 8 bits by ``scale_to_uint8``,
not clipped (Pillow's own conversion clips everything above 255 to white)."""


def scale_to_uint8(values: np.ndarray, path: Path | None = None) -> np.ndarray:
    """An image of 16-bit, integer or float values as uint8 (0-255).

    Integers of a 16-bit image are divided by 257 (65535 -> 255); wider integers and floats are
    scaled from their smallest to their largest finite value, except floats already in [0, 1],
    which are multiplied by 255. NaN becomes 0. An image without a finite pixel is refused.

    Raises
    ------
    ImageError
        When every pixel is NaN or infinite.
    """
    values = np.asarray(values)
    finite = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    if not finite.any():
        raise ImageError("every pixel is NaN or infinite", path=path)
    data = np.where(finite, values, 0).astype(np.float64)
    low, high = float(data[finite].min()), float(data[finite].max())
    if values.dtype.kind in "ui" and low >= 0 and high <= 65535:
        scaled = data / 257.0 if high > 255 or values.dtype.itemsize >= 2 else data
    elif values.dtype.kind == "f" and low >= 0 and high <= 1:
        scaled = data * 255.0
    else:
        scaled = (data - low) / (high - low) * 255.0 if high > low else np.zeros_like(data)
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def _crop_centre(im, zoom: float):
    if zoom == 1.0:
        return im
    width, height = im.size
    new_w, new_h = width / zoom, height / zoom
    left, top = (width - new_w) / 2, (height - new_h) / 2
    return im.crop((round(left), round(top), round(left + new_w), round(top + new_h)))


def _load_fits(path: Path, prep: Preprocessing) -> np.ndarray:
    import warnings

    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # header complaints; unusable data raises below
        with fits.open(path, memmap=False) as hdul:
            data = next((h.data for h in hdul if h.data is not None and h.data.ndim >= 2), None)
            if data is None:
                raise ImageError("FITS file has no image HDU with 2 or 3 dimensions", path=path)
            data = np.asarray(data, dtype=np.float32)
    if not np.isfinite(data).any():
        raise ImageError("every pixel of the FITS image is NaN or infinite", path=path)
    if data.ndim == 3 and data.shape[-1] <= 4 < data.shape[0]:  # (H, W, bands) -> (bands, H, W)
        data = np.moveaxis(data, -1, 0)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ImageError(f"FITS image has {data.ndim} dimensions, expected 2 or 3", path=path)
    stretched = np.stack([arcsinh_stretch(band, prep.arcsinh_softening) for band in data])
    rgb = bands_to_channels(stretched, prep.channels)
    return _resize_float(rgb, prep)


def arcsinh_stretch(band: np.ndarray, softening: float = 1.0) -> np.ndarray:
    """Map one band to [0, 1]: ``arcsinh((x - sky) / (softening * noise))`` over its 99.9th pct.

    The sky is the median and the noise the median absolute deviation (x1.4826); NaN becomes 0.
    """
    band = np.nan_to_num(band.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    sky = float(np.median(band))
    noise = 1.4826 * float(np.median(np.abs(band - sky)))
    if noise <= 0:
        noise = float(band.std()) or 1.0
    stretched = np.arcsinh((band - sky) / (softening * noise))
    top = float(np.percentile(stretched, 99.9))
    if top <= 0:
        return np.zeros_like(stretched)
    return np.clip(stretched / top, 0.0, 1.0)


def bands_to_channels(bands: np.ndarray, channels: int = 3) -> np.ndarray:
    """``(n_bands, H, W)`` in [0, 1] to ``(channels, H, W)``.

    One band is repeated; two bands become (red, mean, blue) = (second, mean, first); three or more
    use the last three, reddest first, assuming the bands are stored bluest first (g, r, z -> B, G,
    R as in the Legacy Surveys colour images). Greyscale output is the mean of the bands.
    """
    if channels == 1:
        return bands.mean(axis=0, keepdims=True)
    if bands.shape[0] == 1:
        return np.repeat(bands, 3, axis=0)
    if bands.shape[0] == 2:
        return np.stack([bands[1], bands.mean(axis=0), bands[0]])
    return bands[-3:][::-1].copy()


def _resize_float(image: np.ndarray, prep: Preprocessing) -> np.ndarray:
    from PIL import Image

    out = []
    for channel in image:
        im = Image.fromarray(channel.astype(np.float32))
        im = _crop_centre(im, prep.zoom)
        im = im.resize((prep.image_size, prep.image_size), Image.Resampling.BILINEAR)
        out.append(np.asarray(im))
    array = np.clip(np.stack(out), 0.0, 1.0)
    return np.round(array * 255.0).astype(np.uint8)
