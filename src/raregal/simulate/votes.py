"""Simulated Galaxy Zoo DESI volunteer votes that follow the decision tree of ``raregal.schema``.

Each class (with its generating parameters) sets the probability of each answer; a per-galaxy
Dirichlet draw adds disagreement between galaxies, and about 40 volunteers then walk the tree:
every volunteer answers the first question and the questions their answers lead to, so a
question's counts sum to the count of the answer that asks it.

The votes describe only what GZ DESI asks: clumpiness and shredding are not asked, and the
artifact classes share one artifact-vote distribution, so they cannot be told apart from labels.

Counts are integers (0 where a question is never reached, as in Zoobot's training catalogs);
fractions are NaN where a question got no votes (as in the GZ DESI published catalog).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from raregal.schema import ANSWER_COLUMNS, FRACTION_COLUMNS, GZ_DESI, fractions_from_counts
from raregal.simulate.classes import CLASS_KIND

VOLUNTEERS = (34, 46)
"""Range of the number of volunteers per galaxy (inclusive, uniform)."""

CONCENTRATION = 18.0
"""Dirichlet concentration of the per-galaxy answer probabilities: lower means more disagreement."""

_SMOOTH = {
    "elliptical": (0.88, 0.10, 0.02),
    "elliptical_with_companion": (0.85, 0.13, 0.02),
    "lenticular": (0.55, 0.43, 0.02),
    "edge_on_disk": (0.22, 0.76, 0.02),
    "shells_streams": (0.32, 0.65, 0.03),
    "shredded_clumpy": (0.08, 0.84, 0.08),
    "clumpy_lowmass": (0.18, 0.76, 0.06),
}
_FEATURED = (0.10, 0.88, 0.02)
_ARTIFACT_SHARE = 0.6
"""Share of artifact votes for an artifact over a galaxy; the rest follow the galaxy's look."""
_NO_HOST = (0.06, 0.06, 0.88)
"""An artifact with no galaxy under it (a star field, a star): nearly all artifact votes."""
NO_HOST = "none"

_SPIRAL_YES = {
    "spiral": 0.92,
    "barred_spiral": 0.9,
    "spiral_with_companion": 0.9,
    "one_armed": 0.85,
    "shredded_clumpy": 0.8,
    "barred_clumpy": 0.7,
    "clumpy_lowmass": 0.3,
    "ring": 0.35,
    "merger_bridge": 0.35,
    "lenticular": 0.12,
    "shells_streams": 0.25,
}

_MERGING = {
    "merger_bridge": (0.04, 0.12, 0.34, 0.50),
    "spiral_with_companion": (0.55, 0.30, 0.10, 0.05),
    "elliptical_with_companion": (0.55, 0.30, 0.10, 0.05),
    "shells_streams": (0.25, 0.45, 0.25, 0.05),
    "shredded_clumpy": (0.55, 0.30, 0.12, 0.03),
}
_NOT_MERGING = (0.86, 0.11, 0.02, 0.01)


def _finite(params: Mapping[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if np.isfinite(value) else default


def _bump(n: int, centre: float, width: float) -> np.ndarray:
    """Probabilities over ``n`` ordered answers peaked at position ``centre``."""
    p = np.exp(-0.5 * ((np.arange(n) - centre) / width) ** 2) + 0.02
    return p / p.sum()


def answer_probabilities(true_class: str, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The mean answer probabilities of each question for a galaxy of ``true_class``."""
    kind = CLASS_KIND[true_class]
    look = params.get("artifact_host", true_class) if kind == "artifact" else true_class
    look = str(look) or NO_HOST
    q_ratio = _finite(params, "axis_ratio", 0.8)
    bulge = _finite(params, "bulge_fraction", 0.2)
    n_arms = int(_finite(params, "n_arms", 2))
    pitch = _finite(params, "pitch_deg", 20.0)
    bar = _finite(params, "bar_strength", 0.0)
    p: dict[str, np.ndarray] = {}
    host = np.array(_SMOOTH.get(look, _FEATURED))
    if kind != "artifact":
        p["smooth-or-featured"] = host
    elif look == NO_HOST:
        p["smooth-or-featured"] = np.array(_NO_HOST)
    else:
        p["smooth-or-featured"] = (1 - _ARTIFACT_SHARE) * host + _ARTIFACT_SHARE * np.eye(3)[2]
    edge = 0.9 if look == "edge_on_disk" else (0.25 if q_ratio < 0.35 else 0.04)
    p["disk-edge-on"] = np.array([edge, 1 - edge])
    yes = _SPIRAL_YES.get(look, 0.1)
    p["has-spiral-arms"] = np.array([yes, 1 - yes])
    if look == "barred_clumpy":
        p["bar"] = np.array([0.7, 0.22, 0.08])
    elif bar > 0:
        p["bar"] = np.array([0.15 + 0.6 * bar, 0.5 - 0.3 * bar, 0.35 - 0.3 * bar])
    else:
        p["bar"] = np.array([0.03, 0.12, 0.85])
    p["bulge-size"] = _bump(5, 4.0 * (1.0 - min(bulge / 0.6, 1.0)), 0.8)
    p["how-rounded"] = _bump(3, 2.0 * (1.0 - q_ratio) / 0.7, 0.6)
    has_bulge = bulge > 0.05
    p["edge-on-bulge"] = np.array([0.15, 0.1, 0.75]) if has_bulge else np.array([0.1, 0.8, 0.1])
    p["spiral-winding"] = _bump(3, np.clip((pitch - 10.0) / 11.0, 0, 2), 0.7)
    counts = np.full(6, 0.02)
    counts[min(n_arms, 5) - 1 if n_arms >= 1 else 5] = 0.6
    counts[5] += 0.15 + (
        0.3 if look in {"clumpy_lowmass", "barred_clumpy", "shredded_clumpy"} else 0
    )
    p["spiral-arm-count"] = counts / counts.sum()
    p["merging"] = np.array(_MERGING.get(look, _NOT_MERGING))
    return p


def simulate_votes(
    true_class: str, params: Mapping[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Vote counts (34,) in the order of ``raregal.schema.ANSWER_COLUMNS``."""
    mean = answer_probabilities(true_class, params)
    n_volunteers = int(rng.integers(VOLUNTEERS[0], VOLUNTEERS[1] + 1))
    counts: dict[str, np.ndarray] = {}
    column_index = {c: i for i, c in enumerate(ANSWER_COLUMNS)}
    out = np.zeros(len(ANSWER_COLUMNS), dtype=np.int64)
    for question in GZ_DESI:  # parents come before children in GZ_DESI
        if question.asked_after is None:
            reached = n_volunteers
        else:
            reached = int(out[column_index[question.asked_after]])
        probs = rng.dirichlet(CONCENTRATION * mean[question.name] + 0.05)
        counts[question.name] = (
            rng.multinomial(reached, probs) if reached else np.zeros(len(probs), int)
        )
        start = column_index[question.columns[0]]
        out[start : start + len(question.answers)] = counts[question.name]
    return out


def votes_table(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Count (int) and ``_fraction`` (float, NaN where unreached) columns from (N, 34) counts."""
    counts = np.asarray(counts).reshape(-1, len(ANSWER_COLUMNS))
    fractions = fractions_from_counts(counts)
    columns: dict[str, np.ndarray] = {
        c: counts[:, i].astype(np.int64) for i, c in enumerate(ANSWER_COLUMNS)
    }
    columns.update({c: fractions[:, i] for i, c in enumerate(FRACTION_COLUMNS)})
    return columns
