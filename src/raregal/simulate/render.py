"""From painted components to a DESI-like cutout: PSF, sky noise, colours and the files on disk.

A ``Scene`` collects light in three bands (g, r, z) before the PSF (galaxies, stars, trails) and
after it (diffraction spikes, bleed columns), and masks applied last (a missing band, the survey
edge). ``observe`` convolves, adds noise and applies the masks; ``to_rgb`` maps g, r, z to blue,
green, red with an asinh stretch, as the Legacy Surveys viewer does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from raregal.simulate.profiles import Grid, make_grid, moffat_psf

BANDS = ("g", "r", "z")

COLOURS: dict[str, tuple[float, float, float]] = {
    "old": (0.68, 1.0, 1.4),
    "disk": (0.8, 1.0, 1.2),
    "young": (1.3, 1.0, 0.8),
    "neutral": (1.0, 1.0, 1.0),
}
"""Flux ratios g:r:z of stellar populations (old bulges are red, star-forming clumps blue)."""

RGB_SCALES = np.array([1.55, 1.25, 1.0], dtype=np.float32)
"""Per-band scales (g, r, z) applied before the stretch, so that a disk looks white."""

SKY_SIGMA = 0.009
"""Sky noise per pixel in the r band, in the flux units of the scene (before the stretch)."""

SKY_BAND_RATIOS = np.array([0.75, 1.0, 1.35], dtype=np.float32)
"""Sky noise of g, r, z relative to r: z is the noisiest, so the sky looks dark brown-grey."""


class Scene:
    """Light in three bands, painted before and after the PSF, plus masks applied at the end.

    Parameters
    ----------
    size : int
        Side of the square cutout in pixels.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.grid: Grid = make_grid(size)
        self.before_psf = np.zeros((3, size, size), dtype=np.float32)
        self.after_psf = np.zeros((3, size, size), dtype=np.float32)
        self.masks: list[Callable[[np.ndarray], None]] = []

    def add(self, image: np.ndarray, flux: float, colour, *, after_psf: bool = False) -> None:
        """Add ``image`` (unit sum) times ``flux``, split across bands by ``colour`` (g, r, z).

        ``colour`` is a name in ``COLOURS`` or three flux ratios; they are normalised to mean 1.
        """
        ratios = np.asarray(COLOURS[colour] if isinstance(colour, str) else colour, np.float32)
        ratios = ratios / ratios.mean()
        target = self.after_psf if after_psf else self.before_psf
        target += (float(flux) * ratios)[:, None, None] * image[None]

    def add_point(self, x: float, y: float, flux: float, colour) -> None:
        """Add a point source (a star, before the PSF) at pixel offsets (x, y) from the centre."""
        half = (self.size - 1) / 2.0
        ix, iy = int(np.rint(x + half)), int(np.rint(y + half))
        if 0 <= ix < self.size and 0 <= iy < self.size:
            ratios = np.asarray(colour, np.float32)
            self.before_psf[:, iy, ix] += float(flux) * ratios / ratios.mean()


def observe(scene: Scene, psf_fwhm: float, sky_sigma: float, rng: np.random.Generator):
    """Convolve with the PSF, add post-PSF light, sky noise and masks: (3, size, size) float32."""
    from scipy.signal import fftconvolve

    kernel = moffat_psf(psf_fwhm)
    bands = fftconvolve(scene.before_psf, kernel[None], mode="same", axes=(1, 2))
    bands = bands.astype(np.float32) + scene.after_psf
    noise = rng.normal(0.0, sky_sigma, size=bands.shape).astype(np.float32)
    bands += noise * SKY_BAND_RATIOS[:, None, None]
    for mask in scene.masks:
        mask(bands)
    return bands


def to_rgb(
    bands: np.ndarray, q: float = 12.0, stretch: float = 0.1, saturation: float = 0.7
) -> np.ndarray:
    """Map (3, H, W) g, r, z fluxes to an (H, W, 3) uint8 RGB image with an asinh stretch.

    Parameters
    ----------
    q : float, default=12.0
        Softening of the asinh: larger values compress bright cores more.
    stretch : float, default=0.1
        Flux at which the stretch turns from linear to logarithmic.
    saturation : float, default=0.7
        Colour saturation: 0 gives grey, 1 the plain band ratios (Legacy Surveys colours are muted).
    """
    scaled = np.clip(bands * RGB_SCALES[:, None, None], 0.0, None)
    intensity = scaled.mean(axis=0) + 1e-6
    factor = np.arcsinh(q * intensity / stretch) / (q * intensity)
    rgb = scaled[::-1] * factor[None] * 1.1  # z, r, g -> red, green, blue
    grey = rgb.mean(axis=0, keepdims=True)
    rgb = grey + saturation * (rgb - grey)
    peak = np.maximum(rgb.max(axis=0), 1.0)
    rgb = rgb / peak[None]
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def write_png(rgb: np.ndarray, path: Path) -> None:
    """Write an (H, W, 3) uint8 image as PNG, atomically (temporary file, then rename)."""
    from PIL import Image

    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


def write_fits(bands: np.ndarray, path: Path) -> None:
    """Write a (3, H, W) float32 g, r, z cube as FITS, atomically; BAND1..3 name the bands."""
    from astropy.io import fits

    header = fits.Header()
    for i, band in enumerate(BANDS, start=1):
        header[f"BAND{i}"] = band
    tmp = path.with_name(f".{path.name}.tmp")
    fits.PrimaryHDU(np.asarray(bands, dtype=np.float32), header=header).writeto(tmp, overwrite=True)
    os.replace(tmp, path)


def read_cutout_rgb(path: Path) -> np.ndarray:
    """Read a simulated cutout (PNG or FITS cube) as (H, W, 3) uint8 RGB."""
    path = Path(path)
    if path.suffix.lower() in {".fits", ".fit", ".fz"}:
        from astropy.io import fits

        with fits.open(path) as hdul:
            return to_rgb(np.asarray(hdul[0].data, dtype=np.float32))
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
