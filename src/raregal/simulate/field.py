"""The sky around each galaxy: field stars and small neighbouring galaxies."""

from __future__ import annotations

import numpy as np

from raregal.simulate import profiles as pr
from raregal.simulate.render import Scene

STARS_PER_CUTOUT = 4.0
NEIGHBOURS_PER_CUTOUT = 4.0


def add_field(scene: Scene, rng: np.random.Generator, scale: float) -> dict[str, int]:
    """Scatter field stars (PSF-like points) and faint background galaxies over the cutout.

    Returns the numbers painted, as ``n_stars`` and ``n_neighbours``.
    """
    half = scene.size / 2.0
    n_stars = int(rng.poisson(STARS_PER_CUTOUT))
    if n_stars:
        xs, ys = rng.uniform(-half, half, (2, n_stars))
        fluxes = 10 ** rng.uniform(-0.4, 1.8, n_stars) * (1 + 40 * (rng.random(n_stars) < 0.05))
        for x, y, flux in zip(xs, ys, fluxes, strict=True):
            t = rng.uniform(0, 1)
            colour = (0.7 + 0.5 * t, 1.0, 1.4 - 0.5 * t)
            scene.add_point(x, y, flux, colour)
    n_neighbours = int(rng.poisson(NEIGHBOURS_PER_CUTOUT))
    for _ in range(n_neighbours):
        x, y = rng.uniform(-half, half, 2)
        if np.hypot(x, y) < 14 * scale:
            x, y = x + np.sign(x) * 14 * scale, y
        re = rng.uniform(0.8, 3.0) * scale
        image = pr.sersic(
            scene.grid, rng.uniform(1, 4), re, rng.uniform(0.3, 1), rng.uniform(0, 3.14), x, y
        )
        colour = (0.6, 1.0, 1.6) if rng.random() < 0.5 else (0.9, 1.0, 1.1)
        scene.add(image, 10 ** rng.uniform(0.3, 1.6), colour)
    return {"n_stars": n_stars, "n_neighbours": n_neighbours}
