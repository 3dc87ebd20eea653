"""The domain guard: does the encoder look out of its depth on these images?

Checked on the encoder's own output, before the morphology selection:

- **collapse**: its vote fractions hardly vary from image to image (their spread across the images,
  averaged over the 34 answers, is a small share of the spread on its held-out training survey,
  or below ``MIN_SPREAD`` when the model records no reference);
- **implausible removal**: a selection rule would remove far more than is plausible (the edge-on
  or the artifact rule over ``MAX_RULE_SHARE`` of the images; all rules together over
  ``MAX_REMOVED_SHARE``);
- **far from training**: the representations lie much farther from the training distribution
  (mean and spread that the model's ``config.json`` records) than its held-out survey did.

Any failed check gives one warning line with the figures and what to do. The guard reads the
representation table only; it imports neither torch nor the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FEATURE_PREFIX
from raregal.schema import FRACTION_COLUMNS

MIN_SPREAD = 0.02
"""Spread of the fractions (mean std over the answers) below which they count as collapsed."""
MIN_SPREAD_RATIO = 0.25
"""Collapsed when the spread is below this share of the spread on the held-out training survey."""
MAX_RULE_SHARE = 0.5
"""The edge-on or artifact rule removing more than this share of the images is implausible."""
MAX_REMOVED_SHARE = 0.97
"""All rules together removing more than this share leaves (almost) nothing to search."""
MAX_DISTANCE_RATIO = 2.0
"""Representations farther than this many times the held-out survey's median distance."""
MIN_IMAGES = 20
"""Fewer images than this give no reliable figures: the guard says so and checks nothing."""

RULE_COLUMNS: dict[str, tuple[str, float]] = {
    "smooth": ("smooth-or-featured_smooth_fraction", 0.5),
    "edge_on": ("disk-edge-on_yes_fraction", 0.3),
    "artifact": ("smooth-or-featured_artifact_fraction", 0.3),
}
"""The paper's rules as the guard applies them (conditional fractions, in order)."""

ADVICE = (
    "Use a Zoobot encoder (--model hf_hub:mwalmsley/zoobot-encoder-<name>), train one on your "
    "labels (raregal train), or bring a morphology table (--morphology)"
)


@dataclass
class GuardResult:
    """What the guard found.

    Attributes
    ----------
    warned : bool
        Whether any check failed.
    message : str
        The one-line warning ('' when quiet).
    failed : list of str
        Names of the failed checks.
    figures : dict
        Every figure computed (shares removed per rule, spread, distance ratio, ...).
    """

    warned: bool
    message: str
    failed: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (for ``run.json``)."""
        return asdict(self)


def reference_statistics(features: np.ndarray, fractions: np.ndarray) -> dict[str, Any]:
    """What the guard compares new images with, from a held-out survey the model was not fit on.

    Parameters
    ----------
    features : ndarray of shape (n, d)
        Representations of the held-out images.
    fractions : ndarray of shape (n, 34)
        Their predicted vote fractions.

    Returns
    -------
    dict
        ``feature_mean``, ``feature_std`` (lists of d floats), ``median_distance`` (median RMS
        standardised distance from the mean), ``fraction_spread`` and ``removed`` (share per rule).
    """
    features = np.asarray(features, dtype=np.float64)
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
    frame = pd.DataFrame(np.asarray(fractions, dtype=float), columns=FRACTION_COLUMNS)
    return {
        "n": len(features),
        "feature_mean": [round(float(v), 6) for v in mean],
        "feature_std": [round(float(v), 6) for v in std],
        "median_distance": float(np.median(_distances(features, mean, std))),
        "fraction_spread": fraction_spread(frame),
        "removed": removal_shares(frame),
    }


def _distances(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    z = (features - mean) / std
    return np.sqrt(np.mean(z**2, axis=1))


def fraction_spread(fractions: pd.DataFrame) -> float:
    """Std of each answer's fraction across the images, averaged over the answers."""
    values = fractions[[c for c in FRACTION_COLUMNS if c in fractions]].to_numpy(dtype=float)
    return float(np.nanmean(np.nanstd(values, axis=0))) if len(values) else 0.0


def removal_shares(fractions: pd.DataFrame) -> dict[str, float]:
    """Share of the images each rule would remove (first matching rule, as the selection does)."""
    n = len(fractions)
    taken = np.zeros(n, dtype=bool)
    shares = {}
    for name, (column, threshold) in RULE_COLUMNS.items():
        if column not in fractions:
            continue
        hit = (fractions[column].to_numpy(dtype=float) >= threshold) & ~taken
        taken |= hit
        shares[name] = float(hit.mean()) if n else 0.0
    shares["all"] = float(taken.mean()) if n else 0.0
    return shares


def check_domain(
    representations: pd.DataFrame,
    reference: Mapping[str, Any] | None = None,
    model: str = "the encoder",
    rules: Sequence[str] = ("smooth", "edge_on", "artifact"),
) -> GuardResult:
    """Check whether the encoder that made ``representations`` looks out of its depth.

    Parameters
    ----------
    representations : DataFrame
        ``feat_*`` and the ``_fraction`` columns, as ``embed`` writes them.
    reference : mapping, default=None
        ``reference_statistics`` of the model's held-out survey (from its ``config.json``);
        without it the distance check is skipped and the spread has an absolute floor.
    model : str, default='the encoder'
        The model's name, for the message.
    rules : sequence of str, default=all three
        The selection rules of the run (``artifact`` is left out in the artifact experiment).

    Returns
    -------
    GuardResult
    """
    n = len(representations)
    figures: dict[str, Any] = {"n_images": n, "model": model}
    if not any(c in representations for c in FRACTION_COLUMNS) or n < MIN_IMAGES:
        figures["skipped"] = "no vote fractions" if n >= MIN_IMAGES else f"fewer than {MIN_IMAGES}"
        return GuardResult(False, "", [], figures)
    failed, reasons = [], []

    spread = fraction_spread(representations)
    figures["fraction_spread"] = round(spread, 4)
    floor = MIN_SPREAD
    if reference and reference.get("fraction_spread"):
        floor = MIN_SPREAD_RATIO * float(reference["fraction_spread"])
        figures["reference_fraction_spread"] = round(float(reference["fraction_spread"]), 4)
    if spread < floor:
        failed.append("collapse")
        reasons.append(f"its answers hardly vary (spread {spread:.3f}, expected >= {floor:.3f})")

    shares = removal_shares(representations)
    figures["removed_share"] = {k: round(v, 4) for k, v in shares.items()}
    for name in ("edge_on", "artifact"):
        if name in rules and shares.get(name, 0.0) > MAX_RULE_SHARE:
            failed.append(f"removal_{name}")
            reasons.append(f"{shares[name]:.0%} would be removed as {name.replace('_', '-')}")
    active = sum(v for k, v in shares.items() if k in rules)
    if active > MAX_REMOVED_SHARE and not any(f.startswith("removal_") for f in failed):
        failed.append("removal_all")
        reasons.append(f"{active:.0%} would be removed by the selection")

    if reference and reference.get("feature_mean"):
        columns = [f"{FEATURE_PREFIX}{i}" for i in range(len(reference["feature_mean"]))]
        if all(c in representations for c in columns):
            features = representations[columns].to_numpy(dtype=np.float64)
            mean = np.asarray(reference["feature_mean"], dtype=np.float64)
            std = np.asarray(reference["feature_std"], dtype=np.float64)
            ratio = float(np.median(_distances(features, mean, std))) / float(
                reference["median_distance"]
            )
            figures["distance_ratio"] = round(ratio, 3)
            if ratio > MAX_DISTANCE_RATIO:
                failed.append("far_from_training")
                reasons.append(
                    f"its representations lie {ratio:.1f}x farther from its training data than "
                    "its held-out survey"
                )
    if not failed:
        return GuardResult(False, "", [], figures)
    message = (
        f"{model} looks out of its depth on these {n} images: " + "; ".join(reasons) + f". {ADVICE}"
    )
    return GuardResult(True, message, failed, figures)
