"""Recipes for the galaxies of the simulated survey: one function per class, bulk and rare.

Each recipe paints one galaxy (and, for pairs, its partner) into a ``Scene`` with its own random
generator and returns its generating parameters (the columns of ``PARAM_COLUMNS`` it sets).
Lengths are scaled by ``scale = size / 128`` so that a 224 px cutout shows the same sky as a
128 px one, with finer pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from raregal.simulate import profiles as pr
from raregal.simulate.render import Scene

Params = dict[str, Any]
Recipe = Callable[[Scene, np.random.Generator, float], Params]

PARAM_COLUMNS: tuple[str, ...] = (
    "flux",
    "radius_px",
    "axis_ratio",
    "position_angle",
    "bulge_fraction",
    "sersic_n",
    "n_arms",
    "pitch_deg",
    "arm_strength",
    "bar_strength",
    "n_clumps",
    "clump_fraction",
    "ring_radius_px",
    "n_shells",
    "n_streams",
    "companion_separation_px",
    "companion_flux_ratio",
    "centre_offset_px",
)
"""Generating parameters written to the catalog (NaN where a class does not use one)."""


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(10 ** rng.uniform(np.log10(low), np.log10(high)))


def _inclined_q(rng: np.random.Generator, low: float = 0.3) -> float:
    """Axis ratio of a disk seen at a random inclination (uniform in cos i), floored at ``low``."""
    return float(max(rng.uniform(0.0, 1.0), low))


def _mix(a: str, b: str, t: float) -> tuple[float, float, float]:
    from raregal.simulate.render import COLOURS

    ca, cb = np.asarray(COLOURS[a]), np.asarray(COLOURS[b])
    return tuple((1 - t) * ca / ca.mean() + t * cb / cb.mean())


def add_bulge(scene: Scene, rng, flux, re, q, pa, cx=0.0, cy=0.0, n=None) -> float:
    """Paint a red Sersic bulge; return its Sersic index."""
    n = float(rng.uniform(2.0, 4.5)) if n is None else n
    scene.add(pr.sersic(scene.grid, n, re, q, pa, cx, cy), flux, "old")
    return n


def add_clumps(scene: Scene, rng, positions: np.ndarray, flux: float, sigma: float) -> None:
    """Paint blue star-forming clumps at sky ``positions`` (n, 2), with log-normal fluxes."""
    if len(positions) == 0 or flux <= 0:
        return
    weights = rng.lognormal(0.0, 0.6, size=len(positions))
    weights = flux * weights / weights.sum()
    image = pr.point_sources(scene.grid, positions[:, 0], positions[:, 1], weights, sigma=sigma)
    scene.add(image, 1.0, _mix("young", "disk", 0.15))


def sample_positions(rng, density: np.ndarray, n: int, grid: pr.Grid) -> np.ndarray:
    """Draw ``n`` sky positions (n, 2) from a non-negative pixel ``density``."""
    flat = density.ravel().astype(np.float64)
    total = flat.sum()
    if n <= 0 or total <= 0:
        return np.zeros((0, 2), np.float32)
    idx = rng.choice(flat.size, size=n, p=flat / total)
    jitter = rng.uniform(-0.5, 0.5, size=(n, 2))
    return np.stack([grid.x.ravel()[idx], grid.y.ravel()[idx]], axis=1) + jitter


def add_disk_galaxy(
    scene: Scene,
    rng: np.random.Generator,
    scale: float,
    *,
    flux: float,
    h: float,
    q: float,
    pa: float,
    cx: float = 0.0,
    cy: float = 0.0,
    bulge_fraction: float = 0.2,
    n_arms: int = 0,
    pitch: float = 0.3,
    arm_strength: float = 0.0,
    bar_strength: float = 0.0,
    clump_fraction: float = 0.0,
    n_clumps: int = 0,
    wobble: float = 0.0,
    young: float = 0.0,
) -> Params:
    """Paint a disk galaxy: bulge, exponential disk, arms, bar and clumps, as asked.

    ``young`` in [0, 1] turns the disk colour from ordinary to star-forming blue;
    ``wobble`` (radians) perturbs the arm phase for irregular arms.
    """
    grid = scene.grid
    frame = pr.disk_frame(grid, cx, cy, pa, q)
    disk = np.exp(-frame.r / h)
    disk_flux = flux * (1 - bulge_fraction)
    bar_length = 0.0
    if bulge_fraction > 0:
        add_bulge(scene, rng, flux * bulge_fraction, 0.35 * h, min(1.0, q + 0.3), pa, cx, cy)
    if bar_strength > 0:
        bar_length = h * rng.uniform(1.3, 2.0)
        bar_angle = rng.uniform(0, np.pi)
        bar_image = pr.bar(frame, bar_length, rng.uniform(0.18, 0.3), bar_angle)
        scene.add(bar_image, disk_flux * 0.45 * bar_strength, _mix("old", "disk", 0.5))
        disk_flux *= 1 - 0.45 * bar_strength
        phase = bar_angle
    else:
        phase = rng.uniform(0, 2 * np.pi)
    smooth = 1.0 - arm_strength - clump_fraction
    scene.add(pr._normalised(disk), disk_flux * smooth, _mix("disk", "young", young))
    pattern = None
    if n_arms > 0 and arm_strength > 0:
        field = None
        if wobble > 0:
            field = wobble * np.sin(frame.r / (h * rng.uniform(0.4, 0.9)) + rng.uniform(0, 6.3))
            field = field + 0.5 * wobble * np.sin(3 * frame.theta + rng.uniform(0, 6.3))
        pattern = pr.arm_pattern(
            frame,
            n_arms,
            pitch,
            phase=phase,
            width=rng.uniform(2.0, 4.0),
            r_start=max(bar_length, 0.6 * h),
            wobble=field,
        )
        scene.add(
            pr._normalised(disk * pattern),
            disk_flux * arm_strength,
            _mix("disk", "young", 0.5 + young / 2),
        )
    if n_clumps > 0 and clump_fraction > 0:
        if pattern is not None:
            positions = sample_positions(rng, disk * pattern, n_clumps, grid)
        else:
            plane = pr.knot_positions(n_clumps, 1.2 * h, seed=int(rng.integers(1, 2**31 - 1)))
            positions = pr.to_sky(plane, cx, cy, pa, q)
        add_clumps(scene, rng, positions, disk_flux * clump_fraction, sigma=0.7 * scale)
    return {
        "flux": flux,
        "radius_px": h,
        "axis_ratio": q,
        "position_angle": pa,
        "bulge_fraction": bulge_fraction,
        "n_arms": n_arms,
        "pitch_deg": float(np.degrees(pitch)) if n_arms else np.nan,
        "arm_strength": arm_strength,
        "bar_strength": bar_strength,
        "n_clumps": n_clumps,
        "clump_fraction": clump_fraction,
    }


def _common(rng: np.random.Generator, scale: float) -> dict[str, float]:
    return {
        "flux": _log_uniform(rng, 150, 700) * scale**0,
        "pa": float(rng.uniform(0, np.pi)),
        "cx": float(rng.normal(0, 0.8 * scale)),
        "cy": float(rng.normal(0, 0.8 * scale)),
    }


# --- the bulk ---------------------------------------------------------------------------------


def elliptical(scene: Scene, rng, scale: float) -> Params:
    """Smooth red Sersic galaxy of varied roundness."""
    c = _common(rng, scale)
    q, re = float(rng.uniform(0.45, 1.0)), _log_uniform(rng, 4.0, 11.0) * scale
    n = add_bulge(scene, rng, c["flux"], re, q, c["pa"], c["cx"], c["cy"], n=rng.uniform(2.5, 5.5))
    return {
        "flux": c["flux"],
        "radius_px": re,
        "axis_ratio": q,
        "position_angle": c["pa"],
        "bulge_fraction": 1.0,
        "sersic_n": n,
    }


def lenticular(scene: Scene, rng, scale: float) -> Params:
    """Bulge with a smooth disk and no arms."""
    c = _common(rng, scale)
    return add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"],
        h=_log_uniform(rng, 4, 9) * scale,
        q=_inclined_q(rng, 0.35),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.5, 0.7),
    )


def edge_on_disk(scene: Scene, rng, scale: float) -> Params:
    """A thin disk seen edge-on, with or without a bulge and a dust lane."""
    c = _common(rng, scale)
    h = _log_uniform(rng, 6, 14) * scale
    frame = pr.disk_frame(scene.grid, c["cx"], c["cy"], c["pa"], 1.0)
    height = h * rng.uniform(0.08, 0.16)
    bulge = float(rng.choice([0.0, rng.uniform(0.1, 0.35)]))
    scene.add(pr.thick_disk(frame, h, height), c["flux"] * (1 - bulge), "disk")
    if bulge:
        add_bulge(
            scene, rng, c["flux"] * bulge, 0.3 * h, rng.uniform(0.5, 0.9), c["pa"], c["cx"], c["cy"]
        )
    if rng.random() < 0.4:  # dust lane: darken a thin strip along the major axis
        lane = 1.0 - 0.6 * np.exp(-0.5 * (frame.v / (0.35 * height)) ** 2) * (
            np.abs(frame.u) < 2.5 * h
        )
        scene.before_psf *= lane[None].astype(np.float32)
    return {
        "flux": c["flux"],
        "radius_px": h,
        "axis_ratio": height / h,
        "position_angle": c["pa"],
        "bulge_fraction": bulge,
    }


def spiral(scene: Scene, rng, scale: float, barred: bool = False) -> Params:
    """A grand-design or multi-armed spiral with smooth arms; barred when asked."""
    c = _common(rng, scale)
    n_arms = int(rng.choice([2, 2, 2, 3, 4])) if not barred else int(rng.choice([2, 2, 2, 3]))
    return add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"],
        h=_log_uniform(rng, 5, 11) * scale,
        q=_inclined_q(rng, 0.4),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.08, 0.35),
        n_arms=n_arms,
        pitch=np.radians(rng.uniform(10, 32)),
        arm_strength=rng.uniform(0.35, 0.6),
        bar_strength=rng.uniform(0.5, 1.0) if barred else 0.0,
        clump_fraction=0.03,
        n_clumps=int(rng.integers(0, 5)),
        young=rng.uniform(0, 0.4),
    )


def barred_spiral(scene: Scene, rng, scale: float) -> Params:
    """A barred spiral with smooth arms: the look-alike of the barred clumpy class."""
    return spiral(scene, rng, scale, barred=True)


def _add_companion(scene: Scene, rng, scale: float, params: Params) -> Params:
    ratio = float(rng.uniform(0.05, 0.2))
    sep = float(rng.uniform(22, 40) * scale)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = sep * np.cos(angle), sep * np.sin(angle)
    re = rng.uniform(1.5, 3.5) * scale
    colour = "old" if rng.random() < 0.5 else "disk"
    scene.add(
        pr.sersic(
            scene.grid, rng.uniform(1, 4), re, rng.uniform(0.5, 1), rng.uniform(0, 3.1), cx, cy
        ),
        params["flux"] * ratio,
        colour,
    )
    return {**params, "companion_separation_px": sep, "companion_flux_ratio": ratio}


def spiral_with_companion(scene: Scene, rng, scale: float) -> Params:
    """A spiral with a faint, undisturbed companion: a look-alike of the merging pairs."""
    return _add_companion(scene, rng, scale, spiral(scene, rng, scale))


def elliptical_with_companion(scene: Scene, rng, scale: float) -> Params:
    """An elliptical with a faint companion."""
    return _add_companion(scene, rng, scale, elliptical(scene, rng, scale))


# --- the planted rare classes -----------------------------------------------------------------


def shredded_clumpy(scene: Scene, rng, scale: float) -> Params:
    """An extended clumpy spiral catalogued on one of its fragments: off-centre, cut by the edge."""
    c = _common(rng, scale)
    offset = float(rng.uniform(40, 60) * scale)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = offset * np.cos(angle), offset * np.sin(angle)
    params = add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"] * 1.8,
        h=_log_uniform(rng, 26, 40) * scale,
        q=_inclined_q(rng, 0.6),
        pa=c["pa"],
        cx=cx,
        cy=cy,
        bulge_fraction=0.05,
        n_arms=int(rng.choice([2, 3])),
        pitch=np.radians(rng.uniform(18, 30)),
        arm_strength=0.35,
        clump_fraction=0.35,
        n_clumps=int(rng.integers(25, 50)),
        wobble=0.5,
        young=0.6,
    )
    # the fragment the detection pipeline catalogued: a bright clump at the cutout centre
    add_clumps(scene, rng, np.array([[c["cx"], c["cy"]]]), c["flux"] * 0.35, sigma=1.2 * scale)
    return {**params, "centre_offset_px": offset}


def barred_clumpy(scene: Scene, rng, scale: float) -> Params:
    """A low-mass, strongly barred galaxy with irregular clumpy arms and little bulge."""
    c = _common(rng, scale)
    return add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"] * 0.5,
        h=_log_uniform(rng, 6, 10) * scale,
        q=_inclined_q(rng, 0.55),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=0.0,
        n_arms=2,
        pitch=np.radians(rng.uniform(20, 35)),
        arm_strength=0.3,
        bar_strength=1.0,
        clump_fraction=0.45,
        n_clumps=int(rng.integers(12, 25)),
        wobble=0.7,
        young=0.9,
    )


def clumpy_lowmass(scene: Scene, rng, scale: float) -> Params:
    """An unbarred low-mass galaxy made mostly of blue clumps (GalSim random-walk knots)."""
    c = _common(rng, scale)
    return add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"] * 0.45,
        h=_log_uniform(rng, 4, 8) * scale,
        q=_inclined_q(rng, 0.5),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=0.0,
        clump_fraction=0.6,
        n_clumps=int(rng.integers(8, 20)),
        young=1.0,
    )


def shells_streams(scene: Scene, rng, scale: float) -> Params:
    """An elliptical with interleaved low-surface-brightness shells or a long tidal stream."""
    params = elliptical(scene, rng, scale)
    flux, re, q, pa = (
        params["flux"],
        params["radius_px"],
        params["axis_ratio"],
        params["position_angle"],
    )
    frame = pr.disk_frame(scene.grid, 0.0, 0.0, pa, q)
    n_shells, n_streams = 0, 0
    if rng.random() < 0.6:
        n_shells = int(rng.integers(3, 6))
        radii = np.sort(rng.uniform(2.0, 6.0, n_shells)) * re + np.arange(n_shells) * 3 * scale
        scene.add(pr.shells(frame, radii, rng.uniform(0.6, 1.0), 2.5 * scale), flux * 0.1, "old")
    else:
        n_streams = int(rng.integers(1, 3))
        for _ in range(n_streams):
            radius = rng.uniform(25, 45) * scale
            start = rng.uniform(0, 2 * np.pi)
            span = rng.choice([-1, 1]) * rng.uniform(1.5, 3.0)
            centre = radius * 0.7 * np.array([np.cos(start + np.pi), np.sin(start + np.pi)])
            image = pr.arc(
                scene.grid, centre[0], centre[1], radius, start, start + span, 2.0 * scale
            )
            scene.add(image, flux * 0.12, "old")
    return {**params, "n_shells": n_shells, "n_streams": n_streams}


def one_armed(scene: Scene, rng, scale: float) -> Params:
    """A spiral with a single dominant arm."""
    c = _common(rng, scale)
    return add_disk_galaxy(
        scene,
        rng,
        scale,
        flux=c["flux"],
        h=_log_uniform(rng, 8, 13) * scale,
        q=_inclined_q(rng, 0.55),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.1, 0.25),
        n_arms=1,
        pitch=np.radians(rng.uniform(14, 24)),
        arm_strength=0.8,
        clump_fraction=0.05,
        n_clumps=int(rng.integers(2, 8)),
        young=0.3,
    )


def merger_bridge(scene: Scene, rng, scale: float) -> Params:
    """Two interacting galaxies joined by a tidal bridge, with tails on their far sides."""
    c = _common(rng, scale)
    sep = float(rng.uniform(26, 40) * scale)
    angle = rng.uniform(0, 2 * np.pi)
    ratio = float(rng.uniform(0.35, 1.0))
    dx, dy = sep / 2 * np.cos(angle), sep / 2 * np.sin(angle)
    centres = [(c["cx"] - dx, c["cy"] - dy), (c["cx"] + dx, c["cy"] + dy)]
    fluxes = [c["flux"] / (1 + ratio), c["flux"] * ratio / (1 + ratio)]
    h = _log_uniform(rng, 3.0, 5.0) * scale
    for (x0, y0), flux in zip(centres, fluxes, strict=True):
        add_disk_galaxy(
            scene,
            rng,
            scale,
            flux=flux,
            h=h * rng.uniform(0.8, 1.2),
            q=_inclined_q(rng, 0.4),
            pa=rng.uniform(0, np.pi),
            cx=x0,
            cy=y0,
            bulge_fraction=rng.uniform(0.5, 0.7),
            clump_fraction=0.05,
            n_clumps=3,
        )
    bend = rng.choice([-1, 1]) * rng.uniform(0.15, 0.35)
    scene.add(
        pr.tube(scene.grid, centres[0], centres[1], bend, 2.5 * scale), c["flux"] * 0.08, "disk"
    )
    for k, (x0, y0) in enumerate(centres):
        outward = angle + (np.pi if k == 0 else 0.0)
        radius = rng.uniform(18, 30) * scale
        ax, ay = (
            x0 - radius * np.cos(outward + np.pi / 2),
            y0 - radius * np.sin(outward + np.pi / 2),
        )
        start = outward + np.pi / 2
        tail = pr.arc(
            scene.grid,
            ax,
            ay,
            radius,
            start,
            start - np.sign(bend) * rng.uniform(1.2, 2.2),
            2.0 * scale,
        )
        scene.add(tail, c["flux"] * 0.05, "disk")
    return {
        "flux": c["flux"],
        "radius_px": h,
        "position_angle": float(angle),
        "companion_separation_px": sep,
        "companion_flux_ratio": ratio,
    }


def ring_galaxy(scene: Scene, rng, scale: float) -> Params:
    """A ring galaxy: a red core, an empty gap and a bright, knotty blue ring."""
    c = _common(rng, scale)
    q, h = _inclined_q(rng, 0.55), _log_uniform(rng, 5, 8) * scale
    frame = pr.disk_frame(scene.grid, c["cx"], c["cy"], c["pa"], q)
    radius = float(rng.uniform(2.2, 3.2) * h)
    bulge = float(rng.uniform(0.2, 0.4))
    add_bulge(scene, rng, c["flux"] * bulge, 0.35 * h, min(1, q + 0.2), c["pa"], c["cx"], c["cy"])
    ring_flux = c["flux"] * (1 - bulge)
    scene.add(
        pr.ring(frame, radius, rng.uniform(1.2, 2.2) * scale),
        ring_flux * 0.7,
        _mix("disk", "young", 0.7),
    )
    n_clumps = int(rng.integers(6, 14))
    density = pr.ring(frame, radius, 1.0 * scale)
    add_clumps(
        scene,
        rng,
        sample_positions(rng, density, n_clumps, scene.grid),
        ring_flux * 0.3,
        0.8 * scale,
    )
    return {
        "flux": c["flux"],
        "radius_px": h,
        "axis_ratio": q,
        "position_angle": c["pa"],
        "bulge_fraction": bulge,
        "ring_radius_px": radius,
        "n_clumps": n_clumps,
        "clump_fraction": 0.3,
    }


RECIPES: dict[str, Recipe] = {
    "elliptical": elliptical,
    "lenticular": lenticular,
    "edge_on_disk": edge_on_disk,
    "spiral": spiral,
    "barred_spiral": barred_spiral,
    "spiral_with_companion": spiral_with_companion,
    "elliptical_with_companion": elliptical_with_companion,
    "shredded_clumpy": shredded_clumpy,
    "barred_clumpy": barred_clumpy,
    "clumpy_lowmass": clumpy_lowmass,
    "shells_streams": shells_streams,
    "one_armed": one_armed,
    "merger_bridge": merger_bridge,
    "ring": ring_galaxy,
}
