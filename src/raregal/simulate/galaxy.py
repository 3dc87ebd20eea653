"""One simulated galaxy from ``(seed, index)``: its class, its image bands and its parameters.

Every random choice comes from generators seeded by ``(seed, index, stream)``, so a galaxy is the
same whatever the survey size, chunking, worker count or resumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from raregal.simulate.artifacts import ARTIFACTS, HOST_PROBABILITY
from raregal.simulate.classes import BULK_WEIGHTS, CLASS_KIND, class_of_uniform
from raregal.simulate.field import add_field
from raregal.simulate.galaxies import RECIPES
from raregal.simulate.presets import DEFAULT_PRESET, Observation, draw_observation
from raregal.simulate.render import Scene, observe

CLASS_STREAM, IMAGE_STREAM, VOTE_STREAM = 0, 1, 2

APPARENT_SCATTER = 0.25
"""Log-normal scatter of a galaxy's apparent size in the frame around its preset's median."""
APPARENT_RANGE = (0.4, 1.2)


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
    """A rendered galaxy: (3, size, size) bands (bluest first), class, parameters, conditions."""

    bands: np.ndarray
    true_class: str
    params: dict[str, Any]
    observation: Observation


def simulate_galaxy(
    seed: int,
    index: int,
    size: int,
    fractions: Mapping[str, float],
    preset: str = DEFAULT_PRESET,
) -> SimulatedGalaxy:
    """Render galaxy ``index`` of survey ``seed`` at ``size`` pixels, as ``preset`` sees it."""
    true_class = draw_class(seed, index, fractions)
    rng = galaxy_rng(seed, index, IMAGE_STREAM)
    obs = draw_observation(preset, rng)
    scene = Scene(size)
    apparent = float(
        np.clip(obs.apparent_size * rng.lognormal(0.0, APPARENT_SCATTER), *APPARENT_RANGE)
    )
    zoom = scene.scale * apparent
    params: dict[str, Any] = {"apparent_size": apparent}
    if CLASS_KIND[true_class] == "artifact":
        names = list(BULK_WEIGHTS)
        weights = np.array([BULK_WEIGHTS[n] for n in names])
        host = str(rng.choice(names, p=weights / weights.sum()))
        has_host = bool(rng.random() < HOST_PROBABILITY[true_class])
        params["artifact_host"] = host if has_host else "none"
        if has_host:
            params.update(RECIPES[host](scene, rng, zoom))
        params.update(add_field(scene, rng, obs.star_density, obs.neighbour_density))
        params.update(ARTIFACTS[true_class](scene, rng, has_host))
    else:
        params.update(RECIPES[true_class](scene, rng, zoom))
        params.update(add_field(scene, rng, obs.star_density, obs.neighbour_density))
    params["psf_fwhm_px"] = obs.psf_fwhm * scene.scale
    params["sky_sigma"] = obs.sky_sigma * scene.scale
    params["preset"] = obs.preset
    bands = observe(scene, obs.psf_fwhm, obs.sky_sigma, rng, beta=obs.psf_beta)
    return SimulatedGalaxy(bands, true_class, params, obs)
