"""The sky around each galaxy: field stars and small, faint background galaxies."""

from __future__ import annotations

import numpy as np

from raregal.simulate import profiles as pr
from raregal.simulate.render import Scene

CLEAR_RADIUS = 10.0
"""Background galaxies keep this far (128 px pixels) from the centre, where the target is."""


def star_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Flux ratios (n, 3) of field stars, from hot blue-white to cool orange."""
    t = rng.beta(2.0, 1.6, n)
    return np.stack([1.3 - 0.75 * t, np.ones(n), 0.7 + 0.8 * t], axis=1)


def add_field(
    scene: Scene, rng: np.random.Generator, star_density: float, neighbour_density: float
) -> dict[str, int]:
    """Scatter field stars (points, before the PSF) and faint background galaxies over the cutout.

    Star fluxes follow rising number counts (most stars are faint); background galaxies are
    small, mostly red or blue Sersic blobs. Returns the numbers painted, as ``n_stars`` and
    ``n_neighbours``.
    """
    half = scene.size / 2.0 / scene.scale  # in 128 px units
    n_stars = int(rng.poisson(star_density))
    if n_stars:
        xs, ys = rng.uniform(-half, half, (2, n_stars))
        fluxes = 10 ** (1.6 - 2.6 * rng.power(2.5, n_stars))  # 0.1 .. 40, faint-heavy
        scene.add_points(xs * scene.scale, ys * scene.scale, fluxes, star_colours(rng, n_stars))
    n_neighbours = int(rng.poisson(neighbour_density))
    for _ in range(n_neighbours):
        x, y = rng.uniform(-half, half, 2)
        if np.hypot(x, y) < CLEAR_RADIUS:
            x, y = x + np.sign(x + 1e-9) * CLEAR_RADIUS, y
        re = rng.uniform(0.6, 2.5) * scene.scale
        image = pr.sersic(
            scene.grid,
            rng.uniform(1, 4),
            re,
            rng.uniform(0.3, 1),
            rng.uniform(0, 3.14),
            x * scene.scale,
            y * scene.scale,
        )
        colour = (0.75, 1.0, 1.3) if rng.random() < 0.5 else (1.0, 1.0, 1.0)
        scene.add(image, 10 ** rng.uniform(-0.6, 0.9), colour)
    return {"n_stars": n_stars, "n_neighbours": n_neighbours}
