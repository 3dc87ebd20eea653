"""The classes of the simulated survey: their names, kinds and default fractions.

Three kinds: ``bulk`` (the ordinary population, look-alikes of the rare classes included),
``rare`` (the planted rare classes, after Walmsley & Scaife 2023, Figure 1) and ``artifact``
(imaging artifacts, after their Figure 2; the volunteer votes call them all just "artifact").
Each galaxy's class is drawn from its own generator, seeded by ``(seed, index)``, so that a
galaxy's class does not depend on the survey size, the chunking or the number of workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from raregal.errors import InputError


class SimClass(NamedTuple):
    """One class of simulated galaxy."""

    name: str
    kind: str
    """``bulk``, ``rare`` or ``artifact``."""
    description: str


BULK_WEIGHTS: dict[str, float] = {
    "elliptical": 0.30,
    "lenticular": 0.08,
    "edge_on_disk": 0.12,
    "spiral": 0.24,
    "barred_spiral": 0.16,
    "spiral_with_companion": 0.05,
    "elliptical_with_companion": 0.05,
}
"""Relative weights of the bulk classes; they share whatever the rare and artifact classes leave."""

CLASSES: tuple[SimClass, ...] = (
    SimClass("elliptical", "bulk", "smooth Sersic galaxy of varied roundness"),
    SimClass("lenticular", "bulk", "bulge and smooth disk, no arms"),
    SimClass("edge_on_disk", "bulk", "disk seen edge-on, with or without a bulge"),
    SimClass("spiral", "bulk", "unbarred spiral, 2 to 4 smooth arms, tight to loose"),
    SimClass(
        "barred_spiral", "bulk", "barred spiral with smooth arms (look-alike of barred clumpy)"
    ),
    SimClass("spiral_with_companion", "bulk", "spiral with a faint companion (merger look-alike)"),
    SimClass("elliptical_with_companion", "bulk", "elliptical with a faint companion"),
    SimClass(
        "shredded_clumpy", "rare", "extended clumpy spiral shredded by the pipeline, off-centre"
    ),
    SimClass("barred_clumpy", "rare", "low-mass strongly barred galaxy with irregular clumpy arms"),
    SimClass("clumpy_lowmass", "rare", "unbarred low-mass clumpy galaxy, no bulge"),
    SimClass("shells_streams", "rare", "elliptical with low-surface-brightness shells or streams"),
    SimClass("one_armed", "rare", "one-armed spiral"),
    SimClass("merger_bridge", "rare", "merging pair joined by a tidal bridge, with tails"),
    SimClass("ring", "rare", "ring galaxy: bright core, dark gap, star-forming ring"),
    SimClass("satellite_trail", "artifact", "satellite or aircraft trail across the cutout"),
    SimClass("bright_star", "artifact", "bright star with diffraction spikes and halo"),
    SimClass("saturation_bleed", "artifact", "saturated star with a bleed column"),
    SimClass("missing_band", "artifact", "one band missing over a patch: colour-shifted region"),
    SimClass("image_edge", "artifact", "cutout at the survey edge: partial coverage"),
)

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
CLASS_KIND: dict[str, str] = {c.name: c.kind for c in CLASSES}
RARE_CLASSES: tuple[str, ...] = tuple(c.name for c in CLASSES if c.kind == "rare")
ARTIFACT_CLASSES: tuple[str, ...] = tuple(c.name for c in CLASSES if c.kind == "artifact")
BULK_CLASSES: tuple[str, ...] = tuple(c.name for c in CLASSES if c.kind == "bulk")

DEFAULT_RARE_FRACTION = 0.005
DEFAULT_ARTIFACT_FRACTION = 0.005


def class_fractions(
    rare_fraction: float = DEFAULT_RARE_FRACTION,
    artifact_fraction: float = DEFAULT_ARTIFACT_FRACTION,
    overrides: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Fraction of the survey in each class, in the order of ``CLASS_NAMES``.

    Parameters
    ----------
    rare_fraction : float, default=0.005
        Fraction of each planted rare class.
    artifact_fraction : float, default=0.005
        Fraction of each artifact class.
    overrides : mapping of str to float, optional
        Per-class fractions for rare or artifact classes, replacing the defaults above.

    Returns
    -------
    dict of str to float
        Sums to 1; the bulk classes share the remainder by ``BULK_WEIGHTS``.

    Raises
    ------
    InputError
        For an unknown or bulk class name, a fraction outside [0, 1) or fractions that leave
        less than half of the survey to the bulk.
    """
    fractions: dict[str, float] = {}
    for name in RARE_CLASSES:
        fractions[name] = rare_fraction
    for name in ARTIFACT_CLASSES:
        fractions[name] = artifact_fraction
    for name, value in (overrides or {}).items():
        if name not in CLASS_KIND:
            raise InputError(
                f"unknown class {name!r}; expected one of {RARE_CLASSES + ARTIFACT_CLASSES}"
            )
        if CLASS_KIND[name] == "bulk":
            raise InputError(f"class {name!r} is bulk; its fraction is the remainder, not set")
        fractions[name] = value
    for name, value in fractions.items():
        if not np.isfinite(value) or not 0.0 <= value < 1.0:
            raise InputError(f"fraction of {name!r} must be in [0, 1); got {value}")
    planted = sum(fractions.values())
    if planted > 0.5:
        raise InputError(
            f"rare and artifact fractions sum to {planted:.3g}; they must leave at least half of "
            "the survey to the bulk (sum <= 0.5)"
        )
    total_weight = sum(BULK_WEIGHTS.values())
    bulk = {name: (1.0 - planted) * w / total_weight for name, w in BULK_WEIGHTS.items()}
    merged = {**bulk, **fractions}
    return {name: merged[name] for name in CLASS_NAMES}


def class_of_uniform(u: np.ndarray, fractions: Mapping[str, float]) -> np.ndarray:
    """Class names for uniform draws ``u`` in [0, 1), by the cumulative ``fractions``.

    The classes are always taken in the order of ``CLASS_NAMES`` (not the mapping's order), so
    that a spec read back from JSON with sorted keys draws the same classes.
    """
    names = [n for n in CLASS_NAMES if n in fractions] + [
        n for n in fractions if n not in CLASS_KIND
    ]
    edges = np.cumsum([fractions[n] for n in names])
    edges[-1] = 1.0
    idx = np.searchsorted(edges, np.asarray(u), side="right")
    return np.asarray(names, dtype=object)[np.minimum(idx, len(names) - 1)]
