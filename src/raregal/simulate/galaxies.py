"""Recipes for the galaxies of the simulated survey: one function per class, bulk and rare.

Each recipe paints one galaxy (and, for pairs, its partner) into a ``Scene`` with its own random
generator and returns its generating parameters (the columns of ``PARAM_COLUMNS`` it sets).
Lengths are multiplied by ``zoom`` (the cutout's size over 128 px, times the galaxy's apparent
size in the frame); fluxes are for a 128 px cutout and scale with the apparent area, so that a
galaxy small in the frame keeps its surface brightness.

Disks are textured: a flocculent random field, blue star-forming knots along the arms, and dust
lanes across inclined disks. Each rare class varies within itself (ring radius, width,
completeness and bar; shell and stream brightness; arm pitch and extent; merger stage).
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
    "apparent_size",
    "dust_lane",
    "ring_width_px",
    "ring_completeness",
    "arm_extent_turns",
    "merger_stage",
    "tidal_flux_fraction",
)
"""Generating parameters written to the catalog (NaN where a class does not use one)."""

MERGER_STAGES = ("pair", "close", "remnant")
"""Stages of ``merger_bridge``: a pair joined by a bridge, an overlapping pair, a remnant."""


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
    weights = rng.lognormal(0.0, 0.7, size=len(positions))
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


def add_dust_lane(scene: Scene, frame: pr.DiskFrame, h: float, q: float, rng) -> float:
    """Darken a lane along the major axis, offset to the near side of an inclined disk.

    Returns the lane's depth (the fraction of light it removes at its darkest).
    """
    depth = float(rng.uniform(0.45, 0.85))
    width = h * q * rng.uniform(0.12, 0.25) + 0.4
    offset = rng.choice([-1, 1]) * h * q * rng.uniform(0.0, 0.25)
    v_sky = frame.v * max(q, 0.02)  # back to sky pixels across the major axis
    along = np.exp(-0.5 * (frame.u / (2.5 * h)) ** 4)
    lane = 1.0 - depth * np.exp(-0.5 * ((v_sky - offset) / width) ** 2) * along
    scene.before_psf *= lane[None].astype(np.float32)
    return depth


def add_disk_galaxy(
    scene: Scene,
    rng: np.random.Generator,
    zoom: float,
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
    flocculence: float = 0.35,
    arm_extent: float | None = None,
    dust: bool = False,
) -> Params:
    """Paint a disk galaxy: bulge, textured exponential disk, arms, bar, knots and dust.

    ``young`` in [0, 1] turns the disk colour from ordinary to star-forming blue; ``wobble``
    (radians) perturbs the arm phase for irregular arms; ``flocculence`` is the amplitude of the
    disk's patchy texture; ``arm_extent`` (turns) ends the arms; ``dust`` adds a dust lane.
    """
    grid = scene.grid
    frame = pr.disk_frame(grid, cx, cy, pa, q)
    patchy = pr.texture(grid, rng, 0.35 * h + 0.5, flocculence) if flocculence > 0 else 1.0
    disk = np.exp(-frame.r / h)
    disk_flux = flux * (1 - bulge_fraction)
    bar_length = 0.0
    if bar_strength > 0:
        bar_length = h * rng.uniform(1.2, 2.0)
        bar_angle = rng.uniform(0, np.pi)
        bar_image = pr.bar(frame, bar_length, rng.uniform(0.18, 0.3), bar_angle)
        scene.add(bar_image, disk_flux * 0.45 * bar_strength, _mix("old", "disk", 0.5))
        disk_flux *= 1 - 0.45 * bar_strength
        phase = bar_angle
    else:
        phase = rng.uniform(0, 2 * np.pi)
    smooth = max(1.0 - arm_strength - clump_fraction, 0.05)
    scene.add(pr._normalised(disk * patchy), disk_flux * smooth, _mix("disk", "young", young))
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
        if arm_extent is not None:
            r_end = max(bar_length, 0.6 * h) * np.exp(2 * np.pi * arm_extent * np.tan(pitch))
            pattern = pattern * np.exp(-((frame.r / max(r_end, 1.0)) ** 4))
        scene.add(
            pr._normalised(disk * pattern * patchy),
            disk_flux * arm_strength,
            _mix("disk", "young", 0.5 + young / 2),
        )
    if n_clumps > 0 and clump_fraction > 0:
        if pattern is not None:
            positions = sample_positions(rng, disk * pattern, n_clumps, grid)
        else:
            plane = pr.knot_positions(n_clumps, 1.2 * h, seed=int(rng.integers(1, 2**31 - 1)))
            positions = pr.to_sky(plane, cx, cy, pa, q)
        add_clumps(scene, rng, positions, disk_flux * clump_fraction, sigma=0.45 * scene.scale)
    dust_depth = add_dust_lane(scene, frame, h, q, rng) if dust else 0.0
    if bulge_fraction > 0:  # the bulge is painted last: a dust lane crosses the disk, not it
        add_bulge(scene, rng, flux * bulge_fraction, 0.3 * h, min(1.0, q + 0.3), pa, cx, cy)
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
        "dust_lane": dust_depth,
    }


def _common(scene: Scene, rng: np.random.Generator, zoom: float) -> dict[str, float]:
    """Flux (scaled with the apparent area), position angle and a small centring error."""
    apparent = zoom / scene.scale
    return {
        "flux": _log_uniform(rng, 150, 700) * apparent**2,
        "pa": float(rng.uniform(0, np.pi)),
        "cx": float(rng.normal(0, 0.8 * scene.scale)),
        "cy": float(rng.normal(0, 0.8 * scene.scale)),
    }


def _spiral_arms(rng: np.random.Generator, barred: bool) -> int:
    if barred:
        return int(rng.choice([2, 2, 2, 2, 3, 4]))
    return int(rng.choice([2, 2, 2, 2, 2, 3, 3, 4, 4, 5, 6]))


# --- the bulk ---------------------------------------------------------------------------------


def elliptical(scene: Scene, rng, zoom: float) -> Params:
    """Smooth red Sersic galaxy of varied roundness and concentration."""
    c = _common(scene, rng, zoom)
    q, re = float(rng.uniform(0.4, 1.0)), _log_uniform(rng, 3.5, 10.0) * zoom
    n = add_bulge(scene, rng, c["flux"], re, q, c["pa"], c["cx"], c["cy"], n=rng.uniform(2.5, 5.5))
    return {
        "flux": c["flux"],
        "radius_px": re,
        "axis_ratio": q,
        "position_angle": c["pa"],
        "bulge_fraction": 1.0,
        "sersic_n": n,
    }


def lenticular(scene: Scene, rng, zoom: float) -> Params:
    """Bulge with a smooth disk and no arms."""
    c = _common(scene, rng, zoom)
    q = _inclined_q(rng, 0.3)
    return add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"],
        h=_log_uniform(rng, 4, 9) * zoom,
        q=q,
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.45, 0.7),
        flocculence=0.1,
        dust=bool(q < 0.5 and rng.random() < 0.3),
    )


def edge_on_disk(scene: Scene, rng, zoom: float) -> Params:
    """A thin disk seen edge-on, with or without a bulge and a dust lane."""
    c = _common(scene, rng, zoom)
    h = _log_uniform(rng, 5, 12) * zoom
    frame = pr.disk_frame(scene.grid, c["cx"], c["cy"], c["pa"], 1.0)
    height = h * rng.uniform(0.05, 0.14)
    bulge = float(rng.choice([0.0, rng.uniform(0.1, 0.4)]))
    patchy = pr.texture(scene.grid, rng, 0.5 * h, 0.25)
    scene.add(
        pr._normalised(pr.thick_disk(frame, h, height) * patchy),
        c["flux"] * (1 - bulge),
        _mix("disk", "old", rng.uniform(0, 0.4)),
    )
    depth = 0.0
    if rng.random() < 0.55:  # dust lane: darken a thin strip along the major axis
        depth = float(rng.uniform(0.5, 0.9))
        lane = 1.0 - depth * np.exp(-0.5 * (frame.v / (0.35 * height + 0.3)) ** 2) * (
            np.abs(frame.u) < 2.5 * h
        )
        scene.before_psf *= lane[None].astype(np.float32)
    if bulge:
        add_bulge(
            scene, rng, c["flux"] * bulge, 0.3 * h, rng.uniform(0.5, 0.9), c["pa"], c["cx"], c["cy"]
        )
    return {
        "flux": c["flux"],
        "radius_px": h,
        "axis_ratio": height / h,
        "position_angle": c["pa"],
        "bulge_fraction": bulge,
        "dust_lane": depth,
    }


def spiral(scene: Scene, rng, zoom: float, barred: bool = False) -> Params:
    """A spiral with textured arms and star-forming knots; barred when asked."""
    c = _common(scene, rng, zoom)
    q = _inclined_q(rng, 0.35)
    return add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"],
        h=_log_uniform(rng, 4.5, 10) * zoom,
        q=q,
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.06, 0.4),
        n_arms=_spiral_arms(rng, barred),
        pitch=np.radians(rng.uniform(8, 34)),
        arm_strength=rng.uniform(0.3, 0.6),
        bar_strength=rng.uniform(0.5, 1.0) if barred else 0.0,
        clump_fraction=rng.uniform(0.02, 0.1),
        n_clumps=int(rng.integers(4, 25)),
        young=rng.uniform(0, 0.5),
        flocculence=rng.uniform(0.2, 0.6),
        dust=bool(q < 0.6 and rng.random() < 0.5),
    )


def barred_spiral(scene: Scene, rng, zoom: float) -> Params:
    """A barred spiral with smooth arms: the look-alike of the barred clumpy class."""
    return spiral(scene, rng, zoom, barred=True)


def _add_companion(scene: Scene, rng, zoom: float, params: Params) -> Params:
    ratio = float(rng.uniform(0.05, 0.2))
    sep = float(rng.uniform(18, 34) * zoom)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = sep * np.cos(angle), sep * np.sin(angle)
    re = rng.uniform(1.2, 3.0) * zoom
    colour = "old" if rng.random() < 0.5 else "disk"
    scene.add(
        pr.sersic(
            scene.grid, rng.uniform(1, 4), re, rng.uniform(0.5, 1), rng.uniform(0, 3.1), cx, cy
        ),
        params["flux"] * ratio,
        colour,
    )
    return {**params, "companion_separation_px": sep, "companion_flux_ratio": ratio}


def spiral_with_companion(scene: Scene, rng, zoom: float) -> Params:
    """A spiral with a faint, undisturbed companion: a look-alike of the merging pairs."""
    return _add_companion(scene, rng, zoom, spiral(scene, rng, zoom))


def elliptical_with_companion(scene: Scene, rng, zoom: float) -> Params:
    """An elliptical with a faint companion."""
    return _add_companion(scene, rng, zoom, elliptical(scene, rng, zoom))


# --- the planted rare classes -----------------------------------------------------------------


def shredded_clumpy(scene: Scene, rng, zoom: float) -> Params:
    """An extended clumpy spiral catalogued on one of its fragments: off-centre, cut by the edge."""
    c = _common(scene, rng, zoom)
    offset = float(rng.uniform(26, 44) * zoom)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = offset * np.cos(angle), offset * np.sin(angle)
    params = add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"] * 2.5,
        h=_log_uniform(rng, 17, 28) * zoom,
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
        flocculence=0.5,
    )
    # the fragment the detection pipeline catalogued: a bright clump at the cutout centre
    add_clumps(scene, rng, np.array([[c["cx"], c["cy"]]]), c["flux"] * 0.3, sigma=0.9 * zoom)
    return {**params, "centre_offset_px": offset}


def barred_clumpy(scene: Scene, rng, zoom: float) -> Params:
    """A low-mass, strongly barred galaxy with irregular clumpy arms and little bulge."""
    c = _common(scene, rng, zoom)
    return add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"] * 0.6,
        h=_log_uniform(rng, 5, 9) * zoom,
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
        flocculence=0.5,
    )


def clumpy_lowmass(scene: Scene, rng, zoom: float) -> Params:
    """An unbarred low-mass galaxy made mostly of blue clumps (GalSim random-walk knots)."""
    c = _common(scene, rng, zoom)
    return add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"] * 0.55,
        h=_log_uniform(rng, 3.5, 7) * zoom,
        q=_inclined_q(rng, 0.5),
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=0.0,
        clump_fraction=0.6,
        n_clumps=int(rng.integers(8, 20)),
        young=1.0,
        flocculence=0.5,
    )


def shells_streams(scene: Scene, rng, zoom: float) -> Params:
    """An elliptical with faint interleaved shells, or long low-surface-brightness streams."""
    params = elliptical(scene, rng, zoom)
    flux, re, q, pa = (
        params["flux"],
        params["radius_px"],
        params["axis_ratio"],
        params["position_angle"],
    )
    frame = pr.disk_frame(scene.grid, 0.0, 0.0, pa, q)
    n_shells, n_streams = 0, 0
    if rng.random() < 0.55:
        tidal = float(rng.uniform(0.05, 0.12))
        n_shells = int(rng.integers(2, 6))
        radii = np.sort(rng.uniform(1.8, 5.5, n_shells)) * re + np.arange(n_shells) * 2.5 * zoom
        image = pr.shells(frame, radii, rng.uniform(0.5, 1.1), rng.uniform(1.0, 2.5) * zoom)
        scene.add(image, flux * tidal, "old")
    else:
        n_streams = int(rng.integers(1, 3))
        tidal = float(rng.uniform(0.03, 0.08))
        for _ in range(n_streams):
            radius = rng.uniform(2.5, 5.0) * re + 8 * zoom
            start = rng.uniform(0, 2 * np.pi)
            span = rng.choice([-1, 1]) * rng.uniform(1.2, 3.0)
            centre = radius * 0.7 * np.array([np.cos(start + np.pi), np.sin(start + np.pi)])
            image = pr.arc(
                scene.grid,
                centre[0],
                centre[1],
                radius,
                start,
                start + span,
                rng.uniform(1.8, 3.5) * zoom,
            )
            scene.add(image, flux * tidal / n_streams, "old")
    return {**params, "n_shells": n_shells, "n_streams": n_streams, "tidal_flux_fraction": tidal}


def one_armed(scene: Scene, rng, zoom: float) -> Params:
    """A lopsided spiral with one dominant arm of varied pitch and extent."""
    c = _common(scene, rng, zoom)
    extent = float(rng.uniform(0.6, 1.6))
    h = _log_uniform(rng, 6.5, 12) * zoom
    q = _inclined_q(rng, 0.55)
    params = add_disk_galaxy(
        scene,
        rng,
        zoom,
        flux=c["flux"],
        h=h,
        q=q,
        pa=c["pa"],
        cx=c["cx"],
        cy=c["cy"],
        bulge_fraction=rng.uniform(0.05, 0.3),
        n_arms=1,
        pitch=np.radians(rng.uniform(10, 35)),
        arm_strength=rng.uniform(0.55, 0.85),
        clump_fraction=0.06,
        n_clumps=int(rng.integers(3, 12)),
        young=rng.uniform(0.2, 0.6),
        flocculence=0.3,
        arm_extent=extent,
    )
    return {**params, "arm_extent_turns": extent}


def _tail(scene: Scene, rng, centre, outward: float, bend: float, zoom: float, flux: float):
    radius = rng.uniform(14, 26) * zoom
    x0, y0 = centre
    ax = x0 - radius * np.cos(outward + np.pi / 2)
    ay = y0 - radius * np.sin(outward + np.pi / 2)
    start = outward + np.pi / 2
    stop = start - np.sign(bend) * rng.uniform(1.0, 2.2)
    width = rng.uniform(1.3, 2.4) * zoom
    scene.add(pr.arc(scene.grid, ax, ay, radius, start, stop, width), flux, "disk")


def merger_bridge(scene: Scene, rng, zoom: float) -> Params:
    """Interacting galaxies: a pair joined by a bridge, an overlapping pair, or a remnant.

    Every stage has tidal tails; the pair and the overlapping pair differ in separation, the
    remnant is one disturbed body with two long tails.
    """
    c = _common(scene, rng, zoom)
    stage = str(rng.choice(MERGER_STAGES, p=[0.5, 0.3, 0.2]))
    angle = rng.uniform(0, 2 * np.pi)
    h = _log_uniform(rng, 2.8, 5.0) * zoom
    bend = rng.choice([-1, 1]) * rng.uniform(0.15, 0.35)
    tails = float(rng.uniform(0.03, 0.07))
    if stage == "remnant":
        sep, ratio = 0.0, 1.0
        centres = [(c["cx"], c["cy"])]
        add_disk_galaxy(
            scene, rng, zoom, flux=c["flux"], h=1.3 * h, q=_inclined_q(rng, 0.4),
            pa=rng.uniform(0, np.pi), cx=c["cx"], cy=c["cy"], bulge_fraction=0.5,
            clump_fraction=0.08, n_clumps=6, flocculence=0.7,
        )  # fmt: skip
        for k in (0, 1):
            outward = angle + k * np.pi
            _tail(scene, rng, (c["cx"], c["cy"]), outward, bend, zoom, c["flux"] * tails)
    else:
        sep = float((rng.uniform(20, 32) if stage == "pair" else rng.uniform(9, 16)) * zoom)
        ratio = float(rng.uniform(0.35, 1.0))
        dx, dy = sep / 2 * np.cos(angle), sep / 2 * np.sin(angle)
        centres = [(c["cx"] - dx, c["cy"] - dy), (c["cx"] + dx, c["cy"] + dy)]
        fluxes = [c["flux"] / (1 + ratio), c["flux"] * ratio / (1 + ratio)]
        for (x0, y0), flux in zip(centres, fluxes, strict=True):
            add_disk_galaxy(
                scene, rng, zoom, flux=flux, h=h * rng.uniform(0.8, 1.2), q=_inclined_q(rng, 0.4),
                pa=rng.uniform(0, np.pi), cx=x0, cy=y0, bulge_fraction=rng.uniform(0.4, 0.7),
                clump_fraction=0.05, n_clumps=3, flocculence=0.4,
            )  # fmt: skip
        if stage == "pair":
            bridge = pr.tube(scene.grid, centres[0], centres[1], bend, 2.0 * zoom)
            scene.add(bridge, c["flux"] * 0.07, "disk")
        for k, centre in enumerate(centres):
            outward = angle + (np.pi if k == 0 else 0.0)
            _tail(scene, rng, centre, outward, bend, zoom, c["flux"] * tails)
    return {
        "flux": c["flux"],
        "radius_px": h,
        "position_angle": float(angle),
        "companion_separation_px": sep,
        "companion_flux_ratio": ratio,
        "merger_stage": float(MERGER_STAGES.index(stage)),
        "tidal_flux_fraction": tails,
    }


def ring_galaxy(scene: Scene, rng, zoom: float) -> Params:
    """A ring galaxy: a red core (sometimes barred), a gap and a knotty ring, of varied shape.

    The ring's radius, width and completeness (an arc of 60-100 % of a full turn) vary, as do
    its knots and colour.
    """
    c = _common(scene, rng, zoom)
    q, h = _inclined_q(rng, 0.5), _log_uniform(rng, 4.5, 8) * zoom
    frame = pr.disk_frame(scene.grid, c["cx"], c["cy"], c["pa"], q)
    radius = float(rng.uniform(1.8, 3.4) * h)
    width = float(radius * rng.uniform(0.06, 0.2) + 0.3 * zoom)
    completeness = float(min(1.0, rng.uniform(0.6, 1.25)))
    bulge = float(rng.uniform(0.2, 0.45))
    bar = 0.0
    if rng.random() < 0.35:
        bar = float(rng.uniform(0.5, 1.0))
        bar_image = pr.bar(frame, radius * rng.uniform(0.55, 0.85), 0.25, rng.uniform(0, np.pi))
        scene.add(bar_image, c["flux"] * 0.15 * bar, _mix("old", "disk", 0.5))
    add_bulge(scene, rng, c["flux"] * bulge, 0.3 * h, min(1, q + 0.2), c["pa"], c["cx"], c["cy"])
    ring_flux = c["flux"] * (1 - bulge - 0.15 * bar)
    window = np.ones_like(frame.r)
    if completeness < 1.0:
        gap_centre = rng.uniform(-np.pi, np.pi)
        delta = np.abs(np.angle(np.exp(1j * (frame.theta - gap_centre))))
        half_gap = np.pi * (1 - completeness)
        window = np.clip((delta - half_gap) / 0.4 + 0.5, 0.0, 1.0)
    knotty = float(rng.uniform(0.15, 0.45))
    colour = _mix("disk", "young", float(rng.uniform(0.4, 0.9)))
    scene.add(
        pr._normalised(pr.ring(frame, radius, width) * window), ring_flux * (1 - knotty), colour
    )
    n_clumps = int(rng.integers(4, 20))
    density = pr.ring(frame, radius, 0.8 * width) * window
    add_clumps(
        scene,
        rng,
        sample_positions(rng, density, n_clumps, scene.grid),
        ring_flux * knotty,
        0.5 * scene.scale,
    )
    return {
        "flux": c["flux"],
        "radius_px": h,
        "axis_ratio": q,
        "position_angle": c["pa"],
        "bulge_fraction": bulge,
        "bar_strength": bar,
        "ring_radius_px": radius,
        "ring_width_px": width,
        "ring_completeness": completeness,
        "n_clumps": n_clumps,
        "clump_fraction": knotty,
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
