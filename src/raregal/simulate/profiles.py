"""Light profiles painted on a pixel grid before the PSF: the building blocks of every galaxy.

GalSim draws the Sersic bulges and ellipticals, the Moffat PSF and places the star-forming clumps
(``galsim.RandomKnots``); spiral arms, bars, rings, shells and tidal features, for which GalSim has
no ready profile, are built here on the galaxy's own (deprojected) coordinates. Every function
returns an image normalised to unit sum, so that colours and fluxes are applied in one place
(``raregal.simulate.render.Scene``). Lengths are in pixels.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

_TINY = 1e-12


def import_galsim():
    """Import GalSim, or say how to install it."""
    try:
        import galsim
    except ImportError as exc:
        from raregal.errors import MissingDependencyError

        raise MissingDependencyError("galsim", "simulate") from exc
    return galsim


class Grid(NamedTuple):
    """Pixel-centre coordinates of a square cutout, origin at the cutout centre."""

    x: np.ndarray
    y: np.ndarray

    @property
    def size(self) -> int:
        """Side of the cutout in pixels."""
        return self.x.shape[0]


def make_grid(size: int) -> Grid:
    """The coordinate grid of a ``size`` x ``size`` cutout."""
    coords = np.arange(size, dtype=np.float32) - (size - 1) / 2.0
    y, x = np.meshgrid(coords, coords, indexing="ij")
    return Grid(x, y)


class DiskFrame(NamedTuple):
    """Coordinates in the plane of a disk: ``u`` along the major axis, ``v`` deprojected."""

    u: np.ndarray
    v: np.ndarray
    r: np.ndarray
    theta: np.ndarray


def disk_frame(grid: Grid, cx: float, cy: float, pa: float, q: float) -> DiskFrame:
    """Deproject the grid into the plane of a disk centred at (cx, cy).

    Parameters
    ----------
    grid : Grid
    cx, cy : float
        Centre in pixels from the cutout centre.
    pa : float
        Position angle of the major axis, radians from the x axis.
    q : float
        Axis ratio b/a (cosine of the inclination for a thin disk).
    """
    dx, dy = grid.x - cx, grid.y - cy
    c, s = np.cos(pa), np.sin(pa)
    u = dx * c + dy * s
    v = (-dx * s + dy * c) / max(q, 0.02)
    return DiskFrame(u, v, np.hypot(u, v), np.arctan2(v, u))


def _normalised(image: np.ndarray) -> np.ndarray:
    total = float(image.sum())
    return (image / total).astype(np.float32) if total > _TINY else image.astype(np.float32)


def sersic(grid: Grid, n: float, re: float, q: float, pa: float, cx: float = 0, cy: float = 0):
    """A Sersic profile drawn by GalSim at pixel centres (the PSF is applied later).

    ``n`` is rounded to 0.25 so that GalSim's per-index lookup tables are reused.
    """
    galsim = import_galsim()

    n = float(np.clip(np.round(n * 4) / 4, 0.5, 6.0))
    profile = galsim.Sersic(n=n, half_light_radius=max(re, 0.5))
    profile = profile.shear(q=float(np.clip(q, 0.05, 1.0)), beta=float(pa) * galsim.radians)
    size = grid.size
    stamp = int(2 * np.ceil(10 * max(re, 0.5)) + 1)
    if stamp >= size // 2:
        offset = galsim.PositionD(float(cx), float(cy))
        image = profile.drawImage(nx=size, ny=size, scale=1.0, method="no_pixel", offset=offset)
        return _normalised(image.array)
    # a small profile: draw a stamp around it and paste it, much faster than the whole cutout
    half = (size - 1) / 2.0
    ix, iy = int(np.rint(cx + half)), int(np.rint(cy + half))
    offset = galsim.PositionD(float(cx + half - ix), float(cy + half - iy))
    drawn = profile.drawImage(nx=stamp, ny=stamp, scale=1.0, method="no_pixel", offset=offset).array
    image = np.zeros((size, size), dtype=np.float32)
    r = stamp // 2
    y0, y1, x0, x1 = iy - r, iy + r + 1, ix - r, ix + r + 1
    cy0, cx0 = max(0, -y0), max(0, -x0)
    cy1, cx1 = stamp - max(0, y1 - size), stamp - max(0, x1 - size)
    if cy1 > cy0 and cx1 > cx0:
        image[max(y0, 0) : min(y1, size), max(x0, 0) : min(x1, size)] = drawn[cy0:cy1, cx0:cx1]
    return _normalised(image)


def exponential_disk(frame: DiskFrame, scale: float) -> np.ndarray:
    """An exponential disk of scale length ``scale`` in the plane of ``frame``."""
    return _normalised(np.exp(-frame.r / max(scale, 0.3)))


def thick_disk(frame: DiskFrame, scale: float, height: float) -> np.ndarray:
    """An edge-on disk: exponential along the major axis, sech^2 across it (``frame`` with q=1)."""
    across = 1.0 / np.cosh(np.clip(frame.v / max(height, 0.3), -30, 30)) ** 2
    return _normalised(np.exp(-np.abs(frame.u) / max(scale, 0.3)) * across)


def arm_pattern(
    frame: DiskFrame,
    n_arms: int,
    pitch: float,
    phase: float = 0.0,
    width: float = 4.0,
    r_start: float = 2.0,
    wobble: np.ndarray | None = None,
) -> np.ndarray:
    """Logarithmic spiral arms as a modulation in [0, 1] of the disk plane.

    Parameters
    ----------
    n_arms : int
        Number of arms (1 for a one-armed spiral).
    pitch : float
        Pitch angle in radians: small values wind tightly, large values loosely.
    width : float, default=4.0
        Sharpness exponent: larger values give thinner arms.
    r_start : float, default=2.0
        Radius in pixels inside which the arms fade (the bulge or bar region).
    wobble : ndarray, optional
        A phase perturbation per pixel, for irregular arms.
    """
    log_r = np.log(np.maximum(frame.r, 0.5))
    arm_phase = frame.theta - log_r / np.tan(pitch) - phase
    if wobble is not None:
        arm_phase = arm_phase + wobble
    pattern = ((1.0 + np.cos(n_arms * arm_phase)) / 2.0) ** width
    taper = 1.0 - np.exp(-((frame.r / max(r_start, 0.5)) ** 2))
    return (pattern * taper).astype(np.float32)


def bar(frame: DiskFrame, length: float, axis_ratio: float, angle: float) -> np.ndarray:
    """A boxy bar of half-length ``length`` at ``angle`` (radians) in the disk plane."""
    c, s = np.cos(angle), np.sin(angle)
    along = (frame.u * c + frame.v * s) / max(length, 0.5)
    across = (-frame.u * s + frame.v * c) / max(length * axis_ratio, 0.3)
    return _normalised(np.exp(-((along**2 + across**2) ** 1.5) - (along**4)))


def ring(frame: DiskFrame, radius: float, width: float) -> np.ndarray:
    """A Gaussian ring of ``radius`` and ``width`` (sigma) in the disk plane."""
    return _normalised(np.exp(-0.5 * ((frame.r - radius) / max(width, 0.3)) ** 2))


def knot_positions(n_knots: int, radius: float, seed: int) -> np.ndarray:
    """Clump positions (n, 2) in a disk plane from GalSim's random-walk ``RandomKnots``."""
    galsim = import_galsim()

    knots = galsim.RandomKnots(
        int(n_knots), half_light_radius=max(radius, 0.5), rng=galsim.BaseDeviate(int(seed))
    )
    return np.asarray(knots.points, dtype=np.float32).reshape(-1, 2)


def point_sources(
    grid: Grid, xs: np.ndarray, ys: np.ndarray, fluxes: np.ndarray, sigma: float = 0.0
) -> np.ndarray:
    """Point or small Gaussian sources (unnormalised: each keeps its flux) at pixel positions."""
    image = np.zeros(grid.x.shape, dtype=np.float32)
    if len(xs) == 0:
        return image
    half = (grid.size - 1) / 2.0
    if sigma <= 0.3:
        ix = np.round(np.asarray(xs) + half).astype(int)
        iy = np.round(np.asarray(ys) + half).astype(int)
        inside = (ix >= 0) & (ix < grid.size) & (iy >= 0) & (iy < grid.size)
        np.add.at(image, (iy[inside], ix[inside]), np.asarray(fluxes, dtype=np.float32)[inside])
        return image
    reach = int(np.ceil(4 * sigma))
    offsets = np.arange(-reach, reach + 1)
    for x0, y0, f in zip(xs, ys, fluxes, strict=True):
        cx, cy = int(np.rint(x0 + half)), int(np.rint(y0 + half))
        px, py = cx + offsets, cy + offsets
        okx, oky = (px >= 0) & (px < grid.size), (py >= 0) & (py < grid.size)
        if not okx.any() or not oky.any():
            continue
        gx = np.exp(-0.5 * ((px[okx] - half - x0) / sigma) ** 2)
        gy = np.exp(-0.5 * ((py[oky] - half - y0) / sigma) ** 2)
        stamp = np.outer(gy, gx)
        image[np.ix_(py[oky], px[okx])] += f * stamp / max(stamp.sum(), _TINY)
    return image


def to_sky(points: np.ndarray, cx: float, cy: float, pa: float, q: float) -> np.ndarray:
    """Project disk-plane points (n, 2) onto the sky: inverse of ``disk_frame``."""
    u, v = points[:, 0], points[:, 1] * q
    c, s = np.cos(pa), np.sin(pa)
    return np.stack([cx + u * c - v * s, cy + u * s + v * c], axis=1)


def shells(frame: DiskFrame, radii: np.ndarray, span: float, width: float) -> np.ndarray:
    """Interleaved shells: arcs with sharp outer edges, alternating sides of the major axis."""
    image = np.zeros(frame.r.shape, dtype=np.float32)
    for k, radius in enumerate(radii):
        centre = 0.0 if k % 2 == 0 else np.pi
        dtheta = np.angle(np.exp(1j * (frame.theta - centre)))
        window = np.exp(-0.5 * (dtheta / span) ** 2)
        inside = np.clip((radius - frame.r) / max(width, 0.3), 0.0, None)
        edge = np.where(frame.r <= radius, np.exp(-inside), 0.0)
        image += (window * edge / max(radius, 1.0)).astype(np.float32)
    return _normalised(image)


def arc(grid: Grid, cx: float, cy: float, radius: float, start: float, stop: float, width: float):
    """A stream: a Gaussian-section arc of a circle centred at (cx, cy), from ``start`` to ``stop``.

    Brightness fades along the arc from ``start`` to ``stop`` (angles in radians).
    """
    dx, dy = grid.x - cx, grid.y - cy
    r = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    mid, half = (start + stop) / 2.0, abs(stop - start) / 2.0
    delta = np.angle(np.exp(1j * (theta - mid)))
    along = np.clip(1.0 - np.abs(delta) / max(half, 1e-3), 0.0, 1.0)
    sign = np.sign(stop - start) or 1.0
    fade = np.clip(0.5 - sign * delta / (2 * max(half, 1e-3)), 0.0, 1.0) * 0.7 + 0.3
    image = np.exp(-0.5 * ((r - radius) / max(width, 0.3)) ** 2) * np.sqrt(along) * fade
    return _normalised(image)


def tube(grid: Grid, p0: tuple[float, float], p1: tuple[float, float], bend: float, width: float):
    """A curved bridge between two points: a quadratic Bezier curve with a Gaussian section."""
    t = np.linspace(0.0, 1.0, 48, dtype=np.float32)[:, None]
    a, b = np.asarray(p0, np.float32), np.asarray(p1, np.float32)
    mid = (a + b) / 2 + bend * np.array([-(b - a)[1], (b - a)[0]], np.float32)
    curve = (1 - t) ** 2 * a + 2 * (1 - t) * t * mid + t**2 * b
    return _normalised(point_sources(grid, curve[:, 0], curve[:, 1], np.ones(len(curve)), width))


@lru_cache(maxsize=256)
def _moffat(fwhm: float, beta: float) -> np.ndarray:
    galsim = import_galsim()

    side = int(2 * np.ceil(4 * fwhm) + 1)  # Moffat(3.5) wings there are 1e-4 of the peak
    image = galsim.Moffat(beta=beta, fwhm=fwhm).drawImage(nx=side, ny=side, scale=1.0)
    return _normalised(image.array)


def moffat_psf(fwhm: float, beta: float = 3.5) -> np.ndarray:
    """The PSF kernel: a GalSim Moffat drawn on an odd-sized stamp, normalised to unit sum.

    ``fwhm`` is rounded to 0.02 px and ``beta`` to 0.5 so that kernels are cached and reused
    (do not modify them).
    """
    return _moffat(round(float(fwhm) * 50) / 50, round(float(beta) * 2) / 2)


def texture(grid: Grid, rng: np.random.Generator, correlation: float, amplitude: float):
    """A multiplicative random field of mean about 1: flocculent, patchy light of a disk.

    A white-noise field smoothed over ``correlation`` pixels, normalised and exponentiated with
    ``amplitude`` (0 gives a flat field of ones).
    """
    from scipy.ndimage import gaussian_filter

    white = rng.standard_normal(grid.x.shape).astype(np.float32)
    field = gaussian_filter(white, max(correlation, 0.3), mode="wrap")
    field /= float(field.std()) + _TINY
    return np.exp(amplitude * field - 0.5 * amplitude**2).astype(np.float32)
