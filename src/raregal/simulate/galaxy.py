"""One simulated galaxy from ``(seed, index)``: its class, its image bands and its parameters.

Every random choice comes from generators seeded by ``(seed, index, stream)``, so a galaxy is the
same whatever the survey size, chunking, worker count or resumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from raregal.simulate.artifacts import ARTIFACTS
from raregal.simulate.classes import BULK_WEIGHTS, CLASS_KIND, class_of_uniform
from raregal.simulate.field import add_field
from raregal.simulate.galaxies import RECIPES
from raregal.simulate.render import SKY_SIGMA, Scene, observe

CLASS_STREAM, IMAGE_STREAM, VOTE_STREAM = 0, 1, 2

GALAXY_ZOOM = 1.2
"""Galaxy lengths in units of a 128 px cutout's pixels are multiplied by this (GZ-like framing)."""


def galaxy_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """The generator of one galaxy for one purpose (class, image or votes)."""
    return np.random.default_rng([int(seed), int(index), int(stream)])


def draw_class(seed: int, index: int, fractions: Mapping[str, float]) -> str:
    """The true class of galaxy ``index``; independent of every other galaxy."""
    u = galaxy_rng(seed, index, CLASS_STREAM).random()
    return str(class_of_uniform(np.array([u]), fractions)[0])


def draw_classes(seed: int, indices: np.ndarray, fractions: Mapping[str, float]) -> np.ndarray:
    """True classes of many galaxies (no rendering), as ``draw_class`` gives them one by one."""
    u = np.array([galaxy_rng(seed, i, CLASS_STREAM).random() for i in indices])
    return class_of_uniform(u, fractions)


class SimulatedGalaxy(NamedTuple):
    """A rendered galaxy: its (3, size, size) g, r, z bands, class and generating parameters."""

    bands: np.ndarray
    true_class: str
    params: dict[str, Any]


def simulate_galaxy(
    seed: int, index: int, size: int, fractions: Mapping[str, float]
) -> SimulatedGalaxy:
    """Render galaxy ``index`` of the survey with ``seed`` at ``size`` pixels."""
    true_class = draw_class(seed, index, fractions)
    rng = galaxy_rng(seed, index, IMAGE_STREAM)
    scale = size / 128.0
    zoom = GALAXY_ZOOM * scale
    scene = Scene(size)
    params: dict[str, Any] = {}
    if CLASS_KIND[true_class] == "artifact":
        names = list(BULK_WEIGHTS)
        weights = np.array([BULK_WEIGHTS[n] for n in names])
        host = str(rng.choice(names, p=weights / weights.sum()))
        params["artifact_host"] = host
        params.update(RECIPES[host](scene, rng, zoom))
        params.update(add_field(scene, rng, scale))
        params.update(ARTIFACTS[true_class](scene, rng, scale))
    else:
        params.update(RECIPES[true_class](scene, rng, zoom))
        params.update(add_field(scene, rng, scale))
    params["psf_fwhm_px"] = float(rng.uniform(2.6, 3.6) * scale)
    params["sky_sigma"] = float(SKY_SIGMA * rng.uniform(0.8, 1.25))
    bands = observe(scene, params["psf_fwhm_px"], params["sky_sigma"], rng)
    return SimulatedGalaxy(bands, true_class, params)
