"""Survey presets: how a cutout of one imaging survey looks (bands, PSF, sky, colour stretch).

A preset draws, per galaxy, the observing conditions of its cutout (``Observation``): the point
spread function, the sky noise and the colour stretch of the public JPEG cutouts. Lengths are in
pixels of a 128 px cutout; the renderer scales them to the cutout's size.

- ``decals``: DESI Legacy Surveys DR8-like grz imaging (0.262"/px native, seeing 1.0-1.6"),
  as Galaxy Zoo DECaLS shows it: a dark grey-brown sky with visible grain, many sharp field
  stars, white-beige galaxy cores (the Legacy Surveys viewer stretch, with its sky pedestal).
- ``sdss``: SDSS-like gri imaging (0.396"/px native, seeing ~1.4", shallower), as Galaxy Zoo 2
  shows it: a near-black sky, smoother images, warmer, more saturated colours (Lupton et al.
  2004 asinh colours) and somewhat smaller galaxies in the frame.
- ``mixed``: each galaxy draws one of the two (``MIXED_WEIGHTS``): the training surveys of the
  bundled encoder, so that it meets both looks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from raregal.errors import InputError


class Stretch(NamedTuple):
    """The colour stretch of a JPEG cutout (see ``raregal.simulate.render.to_rgb``).

    Attributes
    ----------
    band_scales : tuple of 3 floats
        Multipliers of the blue, green, red bands before the stretch.
    q : float
        Softening of the asinh: larger values compress bright cores more.
    gain : float
        Overall brightness after the stretch.
    pedestal : float
        Flux added to every band before the stretch: the grey sky of Legacy Surveys JPEGs.
    saturation : float
        Colour saturation: 0 gives grey, 1 the stretched band ratios.
    """

    band_scales: tuple[float, float, float]
    q: float
    gain: float
    pedestal: float
    saturation: float


class Observation(NamedTuple):
    """The conditions of one cutout, drawn from a preset."""

    preset: str
    psf_fwhm: float
    """PSF FWHM in pixels of a 128 px cutout."""
    psf_beta: float
    sky_sigma: float
    """Sky noise per pixel (r band) of a 128 px cutout, in scene flux units."""
    stretch: Stretch
    apparent_size: float
    """Median apparent size of galaxies in the frame (1 = the recipes' nominal size)."""
    star_density: float
    """Mean number of field stars in the cutout."""
    neighbour_density: float
    """Mean number of small background galaxies in the cutout."""


class SurveyPreset(NamedTuple):
    """Ranges from which each cutout's ``Observation`` is drawn."""

    name: str
    bands: tuple[str, str, str]
    psf_fwhm: tuple[float, float]
    psf_beta: tuple[float, float]
    sky_sigma: tuple[float, float]
    band_scales: tuple[float, float, float]
    q: tuple[float, float]
    gain: tuple[float, float]
    pedestal: tuple[float, float]
    saturation: tuple[float, float]
    apparent_size: float
    star_density: tuple[float, float]
    neighbour_density: tuple[float, float]
    description: str

    def draw(self, rng: np.random.Generator) -> Observation:
        """The observing conditions of one cutout."""

        def u(bounds: tuple[float, float]) -> float:
            return float(rng.uniform(*bounds))

        jitter = rng.uniform(0.92, 1.08, 3)
        stretch = Stretch(
            band_scales=tuple(float(s * j) for s, j in zip(self.band_scales, jitter, strict=True)),
            q=u(self.q),
            gain=u(self.gain),
            pedestal=u(self.pedestal),
            saturation=u(self.saturation),
        )
        return Observation(
            preset=self.name,
            psf_fwhm=u(self.psf_fwhm),
            psf_beta=u(self.psf_beta),
            sky_sigma=float(np.exp(rng.uniform(*np.log(self.sky_sigma)))),
            stretch=stretch,
            apparent_size=self.apparent_size,
            star_density=u(self.star_density),
            neighbour_density=u(self.neighbour_density),
        )


DECALS = SurveyPreset(
    name="decals",
    bands=("g", "r", "z"),
    psf_fwhm=(1.3, 2.4),
    psf_beta=(2.5, 3.5),
    sky_sigma=(0.0018, 0.0035),
    band_scales=(1.3, 1.15, 1.0),
    q=(8.0, 14.0),
    gain=(1.3, 1.6),
    pedestal=(0.0035, 0.006),
    saturation=(0.55, 0.8),
    apparent_size=0.8,
    star_density=(4.0, 12.0),
    neighbour_density=(2.0, 7.0),
    description="DESI Legacy Surveys-like grz, grey sky, sharp stars (Galaxy Zoo DECaLS)",
)

SDSS = SurveyPreset(
    name="sdss",
    bands=("g", "r", "i"),
    psf_fwhm=(1.6, 3.0),
    psf_beta=(2.5, 4.0),
    sky_sigma=(0.0013, 0.0028),
    band_scales=(0.95, 1.0, 1.12),
    q=(6.0, 10.0),
    gain=(0.85, 1.05),
    pedestal=(0.0, 0.003),
    saturation=(0.65, 0.9),
    apparent_size=0.75,
    star_density=(2.0, 8.0),
    neighbour_density=(1.0, 5.0),
    description="SDSS-like gri, black sky, warm saturated colours, smaller galaxies (GZ2)",
)

PRESETS: dict[str, SurveyPreset] = {p.name: p for p in (DECALS, SDSS)}
MIXED = "mixed"
MIXED_WEIGHTS: dict[str, float] = {"decals": 0.65, "sdss": 0.35}
"""How often each preset is drawn in a ``mixed`` survey."""
PRESET_NAMES: tuple[str, ...] = (*PRESETS, MIXED)
DEFAULT_PRESET = "decals"


def check_preset(name: str) -> str:
    """Return ``name`` when it is a preset (or ``mixed``); raise InputError otherwise."""
    if name not in PRESET_NAMES:
        raise InputError(f"preset must be one of {PRESET_NAMES}; got {name!r}")
    return name


def draw_observation(name: str, rng: np.random.Generator) -> Observation:
    """Draw the conditions of one cutout from preset ``name`` (``mixed`` picks a preset first)."""
    if name == MIXED:
        names = list(MIXED_WEIGHTS)
        weights = np.array([MIXED_WEIGHTS[n] for n in names])
        name = str(rng.choice(names, p=weights / weights.sum()))
    return PRESETS[check_preset(name)].draw(rng)
