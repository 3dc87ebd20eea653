"""The Galaxy Zoo DESI decision tree: 10 questions, 34 answers and which answer asks each question.

Column names follow Zoobot: ``{question}_{answer}`` for vote counts and
``{question}_{answer}_fraction`` for vote fractions. A question's fractions are conditional on the
question being reached; the joint probability of an answer multiplies the fractions along the path.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from raregal.constants import FRACTION_SUFFIX


class Question(NamedTuple):
    """One question of the decision tree."""

    name: str
    answers: tuple[str, ...]
    asked_after: str | None
    """The ``{question}_{answer}`` that leads to this question; None for questions asked of all."""

    @property
    def columns(self) -> list[str]:
        """Vote-count columns, ``{question}_{answer}``."""
        return [f"{self.name}_{a}" for a in self.answers]

    @property
    def fraction_columns(self) -> list[str]:
        """Vote-fraction columns, ``{question}_{answer}_fraction``."""
        return [c + FRACTION_SUFFIX for c in self.columns]


GZ_DESI: tuple[Question, ...] = (
    Question("smooth-or-featured", ("smooth", "featured-or-disk", "artifact"), None),
    Question("disk-edge-on", ("yes", "no"), "smooth-or-featured_featured-or-disk"),
    Question("has-spiral-arms", ("yes", "no"), "disk-edge-on_no"),
    Question("bar", ("strong", "weak", "no"), "disk-edge-on_no"),
    Question("bulge-size", ("dominant", "large", "moderate", "small", "none"), "disk-edge-on_no"),
    Question("how-rounded", ("round", "in-between", "cigar-shaped"), "smooth-or-featured_smooth"),
    Question("edge-on-bulge", ("boxy", "none", "rounded"), "disk-edge-on_yes"),
    Question("spiral-winding", ("tight", "medium", "loose"), "has-spiral-arms_yes"),
    Question(
        "spiral-arm-count", ("1", "2", "3", "4", "more-than-4", "cant-tell"), "has-spiral-arms_yes"
    ),
    Question("merging", ("none", "minor-disturbance", "major-disturbance", "merger"), None),
)

QUESTIONS: dict[str, Question] = {q.name: q for q in GZ_DESI}
ANSWER_COLUMNS: list[str] = [c for q in GZ_DESI for c in q.columns]
FRACTION_COLUMNS: list[str] = [c for q in GZ_DESI for c in q.fraction_columns]
QUESTION_OF_ANSWER: dict[str, str] = {c: q.name for q in GZ_DESI for c in q.columns}

assert len(GZ_DESI) == 10 and len(ANSWER_COLUMNS) == 34


def question_slices() -> list[tuple[int, int]]:
    """Start and stop indices of each question's answers within ``ANSWER_COLUMNS``."""
    slices, start = [], 0
    for q in GZ_DESI:
        slices.append((start, start + len(q.answers)))
        start += len(q.answers)
    return slices


def reach_probability(fractions: pd.DataFrame, question: str) -> pd.Series:
    """Probability that a galaxy reaches ``question``: the product of fractions along its path.

    NaN fractions (a question rarely asked in the published catalog) propagate as NaN.
    """
    prob = pd.Series(1.0, index=fractions.index)
    parent = QUESTIONS[question].asked_after
    while parent is not None:
        prob = prob * fractions[parent + FRACTION_SUFFIX]
        parent = QUESTIONS[QUESTION_OF_ANSWER[parent]].asked_after
    return prob


def joint_fraction(fractions: pd.DataFrame, answer: str) -> pd.Series:
    """Joint probability of ``answer`` (``{question}_{answer}``): conditional fraction x reach."""
    question = QUESTION_OF_ANSWER[answer]
    return fractions[answer + FRACTION_SUFFIX] * reach_probability(fractions, question)


def fractions_from_counts(counts: np.ndarray) -> np.ndarray:
    """Vote fractions from an (N, 34) array of vote counts; NaN where a question got no votes."""
    counts = np.asarray(counts, dtype=float)
    out = np.full_like(counts, np.nan)
    for start, stop in question_slices():
        total = counts[:, start:stop].sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, start:stop] = np.where(total > 0, counts[:, start:stop] / total, np.nan)
    return out
