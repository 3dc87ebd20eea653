"""From painted components to a survey-like cutout: PSF, sky noise, colour stretch, files on disk.

A ``Scene`` collects light in three bands (bluest first: g, r, z or g, r, i) before the PSF
(galaxies, stars) and after it (diffraction spikes, bleed trails, satellite trails), and masks
applied last (a missing band, the survey edge: no data, NaN). ``observe`` convolves, adds sky
noise and applies the masks; ``to_rgb`` maps the bands to red, green and blue with the asinh
stretch of the public JPEG cutouts, drawn per cutout from a survey preset
(``raregal.simulate.presets``).

Units: the scene holds surface brightness, the same per pixel whatever the cutout's size (a
unit-sum profile is multiplied by ``(size / 128) ** 2``), and the sky noise per pixel grows with
the size as real pixels shrink, so that a 424 px cutout resized to 96 px looks like a 96 px one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from raregal.simulate.presets import DECALS, Stretch
from raregal.simulate.profiles import Grid, make_grid, moffat_psf

BANDS = ("g", "r", "z")
REFERENCE_SIZE = 128
"""Lengths, fluxes and noise levels of the recipes are given for a cutout of this side."""

COLOURS: dict[str, tuple[float, float, float]] = {
    "old": (0.78, 1.0, 1.22),
    "disk": (0.8, 1.0, 1.2),
    "young": (1.25, 1.0, 0.85),
    "neutral": (1.0, 1.0, 1.0),
}
"""Flux ratios (bluest band first) of stellar populations: old bulges red, clumps blue."""

KNEE = 0.1
"""Surface brightness at which the asinh stretch turns from linear to logarithmic."""

DEFAULT_STRETCH = Stretch(
    band_scales=DECALS.band_scales,
    q=float(np.mean(DECALS.q)),
    gain=float(np.mean(DECALS.gain)),
    pedestal=float(np.mean(DECALS.pedestal)),
    saturation=float(np.mean(DECALS.saturation)),
)
"""The stretch used to show FITS cutouts (the middle of the DECaLS preset)."""


class Scene:
    """Light in three bands, painted before and after the PSF, plus masks applied at the end.

    Parameters
    ----------
    size : int
        Side of the square cutout in pixels.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.scale = size / REFERENCE_SIZE
        self.grid: Grid = make_grid(size)
        self.before_psf = np.zeros((3, size, size), dtype=np.float32)
        self.after_psf = np.zeros((3, size, size), dtype=np.float32)
        self.masks: list[Callable[[np.ndarray], None]] = []

    def _ratios(self, colour) -> np.ndarray:
        ratios = np.asarray(COLOURS[colour] if isinstance(colour, str) else colour, np.float32)
        return ratios / ratios.mean()

    def add(self, image: np.ndarray, flux: float, colour, *, after_psf: bool = False) -> None:
        """Add a unit-sum profile ``image`` with total ``flux`` (for a 128 px cutout).

        ``colour`` is a name in ``COLOURS`` or three flux ratios, normalised to mean 1.
        """
        target = self.after_psf if after_psf else self.before_psf
        weight = float(flux) * self.scale**2
        target += (weight * self._ratios(colour))[:, None, None] * image[None]

    def add_surface(self, image: np.ndarray, brightness: float, colour) -> None:
        """Add light given as surface brightness per pixel (after the PSF: spikes, trails)."""
        self.after_psf += (float(brightness) * self._ratios(colour))[:, None, None] * image[None]

    def add_points(self, xs, ys, fluxes, colours) -> None:
        """Add point sources (stars, before the PSF) at pixel offsets from the centre.

        ``colours`` is an (n, 3) array of flux ratios.
        """
        half = (self.size - 1) / 2.0
        ix = np.rint(np.asarray(xs) + half).astype(int)
        iy = np.rint(np.asarray(ys) + half).astype(int)
        inside = (ix >= 0) & (ix < self.size) & (iy >= 0) & (iy < self.size)
        if not inside.any():
            return
        ratios = np.asarray(colours, np.float32)[inside]
        ratios = ratios / ratios.mean(axis=1, keepdims=True)
        weights = np.asarray(fluxes, np.float32)[inside, None] * ratios * self.scale**2
        for band in range(3):
            np.add.at(self.before_psf[band], (iy[inside], ix[inside]), weights[:, band])


def observe(
    scene: Scene, psf_fwhm: float, sky_sigma: float, rng: np.random.Generator, beta: float = 3.0
) -> np.ndarray:
    """Convolve with the PSF, add post-PSF light, sky noise and masks: (3, size, size) float32.

    ``psf_fwhm`` (pixels) and ``sky_sigma`` (per pixel) are given for a 128 px cutout. Pixels
    without data are NaN.
    """
    from scipy.signal import fftconvolve

    kernel = moffat_psf(psf_fwhm * scene.scale, beta)
    bands = fftconvolve(scene.before_psf, kernel[None], mode="same", axes=(1, 2))
    bands = bands.astype(np.float32) + scene.after_psf
    noise = rng.standard_normal(size=bands.shape, dtype=np.float32)
    bands += noise * np.float32(sky_sigma * scene.scale) * SKY_BAND_RATIOS[:, None, None]
    for mask in scene.masks:
        mask(bands)
    return bands


SKY_BAND_RATIOS = np.array([0.8, 1.0, 1.3], dtype=np.float32)
"""Sky noise of the three bands relative to the middle one (the reddest is the noisiest)."""


def to_rgb(bands: np.ndarray, stretch: Stretch = DEFAULT_STRETCH) -> np.ndarray:
    """Map (3, H, W) band fluxes (bluest first) to an (H, W, 3) uint8 RGB image.

    The bands are scaled (``stretch.band_scales``), lifted by the sky ``pedestal`` and stretched
    by ``asinh(q I / KNEE) / q`` of their mean ``I`` (Lupton et al. 2004), colours kept; pixels
    without data (NaN) are black in the bands that lack them.
    """
    scales = np.asarray(stretch.band_scales, np.float32)[:, None, None]
    missing = ~np.isfinite(bands)
    x = np.where(missing, 0.0, bands * scales + np.float32(stretch.pedestal))
    x = np.clip(x, 0.0, None).astype(np.float32)
    intensity = x.mean(axis=0) + 1e-6
    q = float(stretch.q)
    factor = np.arcsinh(q * intensity / KNEE) / (q * intensity) * stretch.gain
    rgb = x[::-1] * factor[None]  # reddest band -> red
    grey = rgb.mean(axis=0, keepdims=True)
    rgb = grey + stretch.saturation * (rgb - grey)
    peak = np.maximum(rgb.max(axis=0), 1.0)
    rgb = rgb / peak[None]
    rgb[missing[::-1]] = 0.0
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def write_png(rgb: np.ndarray, path: Path) -> None:
    """Write an (H, W, 3) uint8 image as PNG, atomically (temporary file, then rename)."""
    from PIL import Image

    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


def write_fits(bands: np.ndarray, path: Path, names: tuple[str, ...] = BANDS) -> None:
    """Write a (3, H, W) float32 cube as FITS, atomically; BAND1..3 name the bands (NaN: none)."""
    from astropy.io import fits

    header = fits.Header()
    for i, band in enumerate(names, start=1):
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
