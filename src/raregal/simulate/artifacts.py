"""Imaging artifacts painted over an ordinary galaxy (after Walmsley & Scaife 2023, Figure 2).

The volunteers' labels call all of them just "artifact"; only ``true_class`` tells them apart.
Each function paints its artifact into a ``Scene`` that already holds the host galaxy and
returns the artifact's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from raregal.simulate.render import Scene

_BAND_COLOURS = ((1.0, 0.02, 0.02), (0.02, 1.0, 0.02), (0.02, 0.02, 1.0))


def _line_distance(scene: Scene, x0: float, y0: float, angle: float) -> np.ndarray:
    return np.abs(-(scene.grid.x - x0) * np.sin(angle) + (scene.grid.y - y0) * np.cos(angle))


def satellite_trail(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """A straight trail across the whole cutout, often in a single band (so strongly coloured)."""
    half = scene.size / 2.0
    x0, y0 = rng.uniform(-0.6 * half, 0.6 * half, 2)
    angle = rng.uniform(0, np.pi)
    width = rng.uniform(0.6, 1.5) * scale
    line = np.exp(-0.5 * (_line_distance(scene, x0, y0, angle) / width) ** 2)
    colour = _BAND_COLOURS[int(rng.integers(3))] if rng.random() < 0.7 else "neutral"
    scene.add(line.astype(np.float32), rng.uniform(0.15, 0.6), colour, after_psf=True)
    return {"artifact_angle": float(angle)}


def _bright_star(scene: Scene, rng, scale: float, x: float, y: float, flux: float) -> None:
    r = np.hypot(scene.grid.x - x, scene.grid.y - y)
    halo = (1.0 + (r / (6.0 * scale)) ** 2) ** -1.5
    core = np.exp(-0.5 * (r / (2.2 * scale)) ** 2)
    dx, dy = np.abs(scene.grid.x - x), np.abs(scene.grid.y - y)
    spikes = np.exp(-dy / (0.6 * scale)) / (1 + dx / (8 * scale)) + np.exp(-dx / (0.6 * scale)) / (
        1 + dy / (8 * scale)
    )
    image = 3.0 * core + 0.35 * halo + 0.25 * spikes * (r > 2 * scale)
    colour = (0.8 + rng.uniform(0, 0.3), 1.0, 1.3 - rng.uniform(0, 0.3))
    scene.add(image.astype(np.float32), flux, colour, after_psf=True)


def bright_star(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """A bright star with a halo and four diffraction spikes, near or on the galaxy."""
    half = scene.size / 2.0
    x, y = rng.uniform(-0.7 * half, 0.7 * half, 2)
    _bright_star(scene, rng, scale, x, y, rng.uniform(0.8, 2.0))
    return {"artifact_x": float(x), "artifact_y": float(y)}


def saturation_bleed(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """A saturated star whose charge bleeds along its column: a bright vertical streak."""
    half = scene.size / 2.0
    x, y = rng.uniform(-0.6 * half, 0.6 * half, 2)
    _bright_star(scene, rng, scale, x, y, rng.uniform(0.8, 1.6))
    length = rng.uniform(0.3, 0.9) * scene.size
    width = rng.uniform(1.0, 2.2) * scale
    column = (np.abs(scene.grid.x - x) < width) & (np.abs(scene.grid.y - y) < length / 2)
    scene.add(column.astype(np.float32), 3.0, "neutral", after_psf=True)
    return {"artifact_x": float(x), "artifact_y": float(y)}


def missing_band(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """One band without data over part of the cutout: a sharply bounded colour-shifted region."""
    band = int(rng.integers(3))
    angle = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(-0.3, 0.3) * scene.size
    side = (scene.grid.x * np.cos(angle) + scene.grid.y * np.sin(angle)) > offset

    def mask(bands: np.ndarray) -> None:
        bands[band][side] = 0.0

    scene.masks.append(mask)
    return {"artifact_band": band, "artifact_angle": float(angle)}


def image_edge(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, Any]:
    """The cutout overlaps the survey edge: no data (zero) beyond a straight boundary."""
    angle = rng.choice([0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi]) + rng.normal(0, 0.05)
    offset = rng.uniform(0.05, 0.35) * scene.size
    outside = (scene.grid.x * np.cos(angle) + scene.grid.y * np.sin(angle)) > offset

    def mask(bands: np.ndarray) -> None:
        bands[:, outside] = 0.0

    scene.masks.append(mask)
    return {"artifact_angle": float(angle)}


ARTIFACTS: dict[str, Callable[[Scene, np.random.Generator, float], dict[str, Any]]] = {
    "satellite_trail": satellite_trail,
    "bright_star": bright_star,
    "saturation_bleed": saturation_bleed,
    "missing_band": missing_band,
    "image_edge": image_edge,
}
