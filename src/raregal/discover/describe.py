"""Clusters that describe themselves: the vote answers that most set a cluster apart.

Each answer is read as its **joint** fraction (``raregal.schema.joint_fraction``: the conditional
vote fraction times the probability that its question is reached), so that a question these
galaxies are rarely asked cannot describe them. For every question, the answer whose cluster mean
stands farthest from the population's mean, in units of the population's spread (floored at
``SPREAD_FLOOR``), is that question's contrast; a cluster is described by its strongest contrasts,
strongest first, with the cluster's value against the population's::

    merging/merger 0.48 vs 0.04; has-spiral-arms/no 0.55 vs 0.13

The GZ DESI tree has no answer for rings, clumps or shredding: for such clusters the description
names the answers in which they differ and says no more. The population is every encoded galaxy
(the survey), not only those the selection kept, so that a cluster is described against the
galaxies it was found among and the ones removed beside them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from raregal.constants import FRACTION_SUFFIX
from raregal.schema import GZ_DESI, QUESTION_OF_ANSWER, QUESTIONS, Question

SPREAD_FLOOR = 0.03
"""Smallest spread (in joint fraction) a contrast is measured in: an answer almost nobody gives
must differ by a few hundredths, not by a rounding error, to describe a cluster."""
MIN_CONTRAST = 0.5
"""Contrast (in population spreads) from which an answer is named."""
MAX_ANSWERS = 4
NOTHING_APART = "no vote answer stands apart"
"""Answers named in a description at most."""
CONTRAST_ANSWERS = 3
"""Strongest per-question contrasts summed into a cluster's ``vote_contrast``."""
CHUNK_ROWS = 262_144


def usable_questions(columns: pd.Index | list[str]) -> list[Question]:
    """Questions whose answers and every answer on their path have fraction columns."""
    have = set(map(str, columns))

    def complete(question: Question) -> bool:
        if not all(c in have for c in question.fraction_columns):
            return False
        parent = question.asked_after
        return parent is None or complete(QUESTIONS[QUESTION_OF_ANSWER[parent]])

    return [q for q in GZ_DESI if complete(q)]


def joint_fractions(fractions: pd.DataFrame, questions: list[Question] | None = None) -> np.ndarray:
    """Joint fraction of every answer of ``questions`` (columns in their order), float32.

    Where a question is never reached (reach probability 0) the joint fraction is 0, whatever the
    conditional fraction (NaN in the published catalogs); other missing values stay NaN.
    """
    questions = usable_questions(fractions.columns) if questions is None else questions
    reach: dict[str, np.ndarray] = {}
    out = []
    for question in questions:  # parents come before children in GZ_DESI
        parent = question.asked_after
        if parent is None:
            reached = np.ones(len(fractions))
        else:
            parent_q = QUESTION_OF_ANSWER[parent]
            reached = reach[parent_q] * fractions[parent + FRACTION_SUFFIX].to_numpy(float)
        reach[question.name] = reached
        for column in question.fraction_columns:
            joint = fractions[column].to_numpy(float) * reached
            joint[reached == 0] = 0.0
            out.append(joint)
    if not out:
        return np.empty((len(fractions), 0), np.float32)
    return np.column_stack(out).astype(np.float32)


def answer_names(questions: list[Question]) -> list[str]:
    """``{question}_{answer}`` of every answer of ``questions``, in column order."""
    return [c for q in questions for c in q.columns]


@dataclass(frozen=True)
class AnswerStatistics:
    """Mean and spread of each answer's joint fraction over a population (NaN-aware)."""

    answers: list[str]
    mean: np.ndarray
    spread: np.ndarray
    count: np.ndarray


def answer_statistics(chunks: Iterator[np.ndarray] | list[np.ndarray], answers: list[str]
                      ) -> AnswerStatistics:  # fmt: skip
    """Population statistics from joint-fraction chunks (so a survey never sits in memory twice)."""
    total = np.zeros(len(answers))
    squares = np.zeros(len(answers))
    count = np.zeros(len(answers))
    for block in chunks:
        block = np.asarray(block, dtype=float)
        finite = np.isfinite(block)
        values = np.where(finite, block, 0.0)
        total += values.sum(axis=0)
        squares += (values**2).sum(axis=0)
        count += finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        spread = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return AnswerStatistics(answers, mean, spread, count)


def population_answers(fractions: pd.DataFrame) -> AnswerStatistics | None:
    """Answer statistics of a population's vote fractions; None when no question is usable."""
    questions = usable_questions(fractions.columns)
    if not questions:
        return None
    chunks = (
        joint_fractions(fractions.iloc[i : i + CHUNK_ROWS], questions)
        for i in range(0, len(fractions), CHUNK_ROWS)
    )
    return answer_statistics(chunks, answer_names(questions))


@dataclass(frozen=True)
class Contrast:
    """One question's strongest answer for a cluster."""

    answer: str
    contrast: float
    cluster_value: float
    population_value: float

    @property
    def label(self) -> str:
        question = QUESTION_OF_ANSWER[self.answer]
        return f"{question}/{self.answer[len(question) + 1 :]}"

    def text(self) -> str:
        return f"{self.label} {self.cluster_value:.2f} vs {self.population_value:.2f}"


def question_contrasts(cluster_mean: np.ndarray, population: AnswerStatistics) -> list[Contrast]:
    """Per question, the answer standing farthest from the population; strongest first."""
    spread = np.sqrt(population.spread**2 + SPREAD_FLOOR**2)
    with np.errstate(invalid="ignore"):
        z = (cluster_mean - population.mean) / spread
    best: dict[str, Contrast] = {}
    for j, answer in enumerate(population.answers):
        if not np.isfinite(z[j]):
            continue
        question = QUESTION_OF_ANSWER[answer]
        if question not in best or abs(z[j]) > abs(best[question].contrast):
            best[question] = Contrast(answer, float(z[j]), float(cluster_mean[j]),
                                      float(population.mean[j]))  # fmt: skip
    return sorted(best.values(), key=lambda c: -abs(c.contrast))


def describe(contrasts: list[Contrast]) -> tuple[str, list[Contrast]]:
    """The description text and the answers it names: up to ``MAX_ANSWERS`` of those whose
    contrast reaches ``MIN_CONTRAST``, strongest first (``NOTHING_APART`` when none does)."""
    named = [c for c in contrasts[:MAX_ANSWERS] if abs(c.contrast) >= MIN_CONTRAST]
    return ("; ".join(c.text() for c in named) if named else NOTHING_APART), named


def describe_clusters(
    labels: np.ndarray,
    numbers: np.ndarray,
    fractions: pd.DataFrame,
    population: AnswerStatistics | None,
) -> pd.DataFrame:
    """Description of each cluster from the vote fractions of its members.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
        Cluster number of each galaxy of ``fractions`` (NOISE and others are ignored).
    numbers : ndarray of int
        The clusters to describe.
    fractions : DataFrame, shape (n, ...)
        ``{question}_{answer}_fraction`` columns of the same galaxies, row for row.
    population : AnswerStatistics or None
        The reference population (``population_answers``); None describes nothing.

    Returns
    -------
    DataFrame
        One row per cluster: ``cluster``, ``description`` (text), ``distinct_answers`` (the
        named answers, comma separated), ``vote_contrast`` (sum of the ``CONTRAST_ANSWERS``
        largest absolute contrasts; NaN without vote fractions).
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    empty = pd.DataFrame({"cluster": numbers, "description": "", "distinct_answers": "",
                          "vote_contrast": np.nan})  # fmt: skip
    if population is None or len(numbers) == 0:
        return empty
    questions = [QUESTIONS[q] for q in dict.fromkeys(QUESTION_OF_ANSWER[a]
                                                     for a in population.answers)]  # fmt: skip
    member = np.isin(labels, numbers)
    joint = joint_fractions(fractions.loc[member], questions)
    member_labels = np.asarray(labels)[member]
    rows = []
    for number in numbers:
        values = joint[member_labels == number]
        with warnings.catch_warnings():  # an all-NaN answer keeps a NaN mean
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0) if len(values) else np.full(joint.shape[1], np.nan)
        contrasts = question_contrasts(mean, population)
        text, named = describe(contrasts)
        strongest = [abs(c.contrast) for c in contrasts[:CONTRAST_ANSWERS]]
        rows.append({
            "cluster": int(number), "description": text,
            "distinct_answers": ",".join(c.answer for c in named),
            "vote_contrast": float(np.sum(strongest)) if strongest else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)

