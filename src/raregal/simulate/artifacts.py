"""Imaging artifacts as surveys have them (after Walmsley & Scaife 2023, Figure 2).

- ``bright_star``: a saturated star with a wide halo, diffraction spikes and a burnt-out core,
  near the galaxy or (a star catalogued as a galaxy) at the centre;
- ``saturation_bleed``: a saturated star whose charge bleeds along the detector columns: a
  bright streak from the star, sometimes in one band only;
- ``satellite_trail``: a straight trail across the cutout, usually in one band (the bands are
  taken at different times), so strongly coloured;
- ``missing_band``: one band without data over part or all of the cutout: a colour-shifted region;
- ``image_edge``: the cutout overlaps the survey's edge: no data (black) beyond one or two
  straight boundaries.

The volunteers' labels call all of them just "artifact"; only ``true_class`` tells them apart.
Each function paints its artifact into a ``Scene`` that already holds the host galaxy (if any)
and returns the artifact's parameters. Positions and lengths are in pixels of a 128 px cutout,
scaled by ``scene.scale``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from raregal.simulate.render import Scene

_ONE_BAND = ((1.0, 0.02, 0.02), (0.02, 1.0, 0.02), (0.02, 0.02, 1.0))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(10 ** rng.uniform(np.log10(low), np.log10(high)))


def _line_distance(scene: Scene, x0: float, y0: float, angle: float) -> np.ndarray:
    return np.abs(-(scene.grid.x - x0) * np.sin(angle) + (scene.grid.y - y0) * np.cos(angle))


def _half_plane(scene: Scene, angle: float, offset: float) -> np.ndarray:
    """Pixels beyond a straight boundary at ``offset`` (pixels) from the centre along ``angle``."""
    return (scene.grid.x * np.cos(angle) + scene.grid.y * np.sin(angle)) > offset


def saturated_star(
    scene: Scene, rng: np.random.Generator, x: float, y: float, brightness: float
) -> float:
    """Paint a saturated star at (x, y) (sky pixels): halo, spikes and a flat, burnt-out core.

    ``brightness`` scales the halo and spikes (1 is a bright star); returns the core radius.
    """
    s = scene.scale
    dx, dy = scene.grid.x - x, scene.grid.y - y
    r = np.hypot(dx, dy)
    core_radius = float(rng.uniform(1.5, 3.5) * s * np.sqrt(brightness))
    halo_radius = float(rng.uniform(3.0, 7.0) * s * np.sqrt(brightness))
    halo = (1.0 + (r / halo_radius) ** 2) ** -1.1
    angle = float(rng.choice([0.0, np.pi / 4]) + rng.normal(0, 0.04))
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    length = rng.uniform(6, 16) * s * brightness
    width = 0.4 * s + 0.2
    spikes = np.exp(-0.5 * (v / width) ** 2) * np.exp(-np.abs(u) / length)
    spikes += np.exp(-0.5 * (u / width) ** 2) * np.exp(-np.abs(v) / length)
    t = rng.uniform(0, 1)
    colour = (1.2 - 0.4 * t, 1.0, 0.8 + 0.5 * t)
    image = halo + 0.5 * spikes * (r > core_radius)
    scene.add_surface(image.astype(np.float32), brightness * rng.uniform(0.4, 0.9), colour)
    core = (r <= core_radius).astype(np.float32)
    scene.add_surface(core, 30.0, "neutral")
    if rng.random() < 0.5:  # saturated pixels lack data in some band: a coloured, burnt-out core
        band = int(rng.integers(3))
        inner = r <= 0.6 * core_radius

        def burn(bands: np.ndarray) -> None:
            bands[band][inner] = np.nan

        scene.masks.append(burn)
    return core_radius


def _star_position(scene: Scene, rng: np.random.Generator, spread: float) -> tuple[float, float]:
    half = scene.size / 2.0
    return tuple(float(v) for v in rng.uniform(-spread * half, spread * half, 2))


def bright_star(scene: Scene, rng: np.random.Generator, host: bool) -> dict[str, Any]:
    """A saturated star with halo and spikes: beside the galaxy, or itself the centred object."""
    x, y = _star_position(scene, rng, 0.6 if host else 0.12)
    saturated_star(scene, rng, x, y, float(rng.uniform(0.7, 1.6)))
    return {"artifact_x": x / scene.scale, "artifact_y": y / scene.scale}


def saturation_bleed(scene: Scene, rng: np.random.Generator, host: bool) -> dict[str, Any]:
    """A saturated star bleeding along its detector column (or row): a long bright streak."""
    x, y = _star_position(scene, rng, 0.6)
    core = saturated_star(scene, rng, x, y, float(rng.uniform(0.6, 1.2)))
    vertical = rng.random() < 0.75
    along = scene.grid.y - y if vertical else scene.grid.x - x
    across = scene.grid.x - x if vertical else scene.grid.y - y
    up, down = rng.uniform(0.15, 0.9, 2) * scene.size
    width = core * rng.uniform(0.25, 0.5) + 0.5 * scene.scale
    inside = (along < up) & (along > -down)
    streak = np.exp(-0.5 * (across / width) ** 4) * inside
    colour = _ONE_BAND[int(rng.integers(3))] if rng.random() < 0.3 else "neutral"
    scene.add_surface(streak.astype(np.float32), float(rng.uniform(1.0, 4.0)), colour)
    return {
        "artifact_x": x / scene.scale,
        "artifact_y": y / scene.scale,
        "artifact_angle": 0.5 * np.pi if vertical else 0.0,
    }


def satellite_trail(scene: Scene, rng: np.random.Generator, host: bool) -> dict[str, Any]:
    """A straight trail across the whole cutout, usually in a single band (strongly coloured)."""
    half = scene.size / 2.0
    x0, y0 = rng.uniform(-0.6 * half, 0.6 * half, 2)
    angle = float(rng.uniform(0, np.pi))
    width = (rng.uniform(0.25, 0.7)) * scene.scale + 0.2
    line = np.exp(-0.5 * (_line_distance(scene, x0, y0, angle) / width) ** 2)
    band = int(rng.integers(3))
    colour = _ONE_BAND[band] if rng.random() < 0.7 else "neutral"
    scene.add_surface(line.astype(np.float32), _log_uniform(rng, 0.01, 0.15), colour)
    return {"artifact_angle": angle, "artifact_band": float(band)}


def missing_band(scene: Scene, rng: np.random.Generator, host: bool) -> dict[str, Any]:
    """One band without data over part of the cutout (or all of it): a colour-shifted region."""
    band = int(rng.integers(3))
    angle = float(rng.uniform(0, 2 * np.pi))
    offset = rng.uniform(-0.45, 0.25) * scene.size
    region = (
        _half_plane(scene, angle, offset)
        if rng.random() < 0.8
        else np.ones_like(scene.grid.x, bool)
    )

    def mask(bands: np.ndarray) -> None:
        bands[band][region] = np.nan

    scene.masks.append(mask)
    return {"artifact_band": float(band), "artifact_angle": angle}


def image_edge(scene: Scene, rng: np.random.Generator, host: bool) -> dict[str, Any]:
    """The cutout overlaps the survey edge: no data (black) beyond one or two boundaries."""
    angle = float(rng.choice([0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi]) + rng.normal(0, 0.04))
    outside = _half_plane(scene, angle, rng.uniform(0.0, 0.35) * scene.size)
    if rng.random() < 0.35:  # a corner of the footprint
        second = angle + 0.5 * np.pi * rng.choice([-1, 1])
        outside |= _half_plane(scene, second, rng.uniform(0.1, 0.4) * scene.size)

    def mask(bands: np.ndarray) -> None:
        bands[:, outside] = np.nan

    scene.masks.append(mask)
    return {"artifact_angle": angle}


ARTIFACTS: dict[str, Callable[[Scene, np.random.Generator, bool], dict[str, Any]]] = {
    "satellite_trail": satellite_trail,
    "bright_star": bright_star,
    "saturation_bleed": saturation_bleed,
    "missing_band": missing_band,
    "image_edge": image_edge,
}

HOST_PROBABILITY: dict[str, float] = {
    "satellite_trail": 0.7,
    "bright_star": 0.55,
    "saturation_bleed": 0.7,
    "missing_band": 0.75,
    "image_edge": 0.7,
}
"""Chance that an artifact cutout holds a galaxy at its centre (else a star field, or a star)."""
