"""Agreement of an encoder's vote fractions with labelled real example cutouts.

The Galaxy Zoo web app illustrates each answer with a few real cutouts (DECaLS and SDSS). Their
``labels.csv`` (``file``, ``survey``, ``question``, ``answer``) names the question and the answer
each image illustrates, in the wording of the GZ DECaLS and GZ2 workflows. ``ANSWER_MAP`` turns
that wording into the GZ DESI answers of ``raregal.schema`` (a set where one old answer covers
several new ones); an example **agrees** when the encoder's most likely answer to that question
(the largest predicted fraction) is in the set. Questions GZ DESI does not ask ("odd features")
are counted as not scored.

These examples are a check of the bundled encoder on real images, never training or tuning data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.errors import InputError
from raregal.schema import QUESTIONS

LABEL_COLUMNS = ("file", "survey", "question", "answer")

HEADLINE_QUESTIONS = ("smooth-or-featured", "disk-edge-on")
"""The questions of the selection rules: smooth or featured or artifact, and edge-on."""

QUESTION_MAP: tuple[tuple[str, str], ...] = (
    ("is the galaxy simply smooth", "smooth-or-featured"),
    ("could this be a disk viewed edge-on", "disk-edge-on"),
    ("is there any sign of a spiral arm pattern", "has-spiral-arms"),
    ("is there any sign of a bar", "bar"),
    ("how prominent is the central bulge", "bulge-size"),
    ("how rounded is it", "how-rounded"),
    ("does the galaxy have a bulge at its cent", "edge-on-bulge"),
    ("how tightly wound", "spiral-winding"),
    ("how many spiral arms", "spiral-arm-count"),
    ("is the galaxy currently merging", "merging"),
)
"""Start of a workflow question (lower case) -> GZ DESI question; others are not scored."""

ANSWER_MAP: dict[str, dict[str, tuple[str, ...]]] = {
    "smooth-or-featured": {
        "smooth": ("smooth",),
        "features or disk": ("featured-or-disk",),
        "star or artifact": ("artifact",),
    },
    "disk-edge-on": {"yes": ("yes",), "no": ("no",)},
    "has-spiral-arms": {"spiral": ("yes",), "no spiral": ("no",)},
    "bar": {"bar": ("strong", "weak"), "no bar": ("no",)},
    "bulge-size": {
        "dominant": ("dominant",),
        "obvious": ("large", "moderate"),
        "just noticeable": ("small",),
        "no bulge": ("none",),
    },
    "how-rounded": {
        "completely round": ("round",),
        "in between": ("in-between",),
        "cigar shaped": ("cigar-shaped",),
    },
    "edge-on-bulge": {"boxy": ("boxy",), "no bulge": ("none",), "rounded": ("rounded",)},
    "spiral-winding": {"tight": ("tight",), "medium": ("medium",), "loose": ("loose",)},
    "spiral-arm-count": {
        "1": ("1",),
        "2": ("2",),
        "3": ("3",),
        "4": ("4",),
        "more than 4": ("more-than-4",),
        "can't tell": ("cant-tell",),
    },
    "merging": {
        "neither": ("none",),
        "tidal debris": ("minor-disturbance", "major-disturbance"),
        "both": ("major-disturbance", "merger"),
        "merging": ("merger",),
    },
}
"""Workflow answer (lower case) -> the GZ DESI answers that mean the same, per question."""


def read_labels(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """The examples of ``folder/labels.csv`` with absolute paths and their GZ DESI question.

    Returns
    -------
    DataFrame
        ``file`` (absolute), ``survey``, ``question``, ``answer``, ``gz_question`` (None when
        GZ DESI does not ask it) and ``accepted`` (tuple of GZ DESI answers; empty when not
        scored).

    Raises
    ------
    InputError
        When ``labels.csv`` is missing or lacks a column, or an image it names is missing.
    """
    folder = Path(folder)
    path = folder / "labels.csv"
    if not path.is_file():
        raise InputError("no labels.csv (file, survey, question, answer)", path=folder)
    labels = pd.read_csv(path)
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=path, column=missing[0])
    labels = labels[list(LABEL_COLUMNS)].copy()
    labels["file"] = [str(folder / f) for f in labels["file"]]
    absent = [f for f in labels["file"] if not Path(f).is_file()]
    if absent:
        raise InputError(
            f"{len(absent)} image(s) named in labels.csv are missing, first {absent[0]}",
            path=path,
            column="file",
            count=len(absent),
        )
    labels["gz_question"] = [gz_question(q) for q in labels["question"]]
    labels["accepted"] = pd.Series(
        [
            accepted_answers(q, a)
            for q, a in zip(labels["gz_question"], labels["answer"], strict=True)
        ],
        index=labels.index,
        dtype=object,
    )
    return labels


def gz_question(text: str) -> str | None:
    """The GZ DESI question of a workflow question's wording, or None when GZ DESI lacks it."""
    lowered = str(text).strip().lower()
    for start, name in QUESTION_MAP:
        if lowered.startswith(start):
            return name
    return None


def accepted_answers(question: str | None, answer: str) -> tuple[str, ...]:
    """The GZ DESI answers that agree with a workflow ``answer``; empty when not scored."""
    if question is None or pd.isna(question):
        return ()
    return ANSWER_MAP[question].get(str(answer).strip().lower(), ())


def most_likely_answers(fractions: pd.DataFrame, question: str) -> np.ndarray:
    """Per row, the answer of ``question`` with the largest predicted fraction."""
    q = QUESTIONS[question]
    values = fractions[q.fraction_columns].to_numpy(dtype=float)
    return np.asarray(q.answers, dtype=object)[np.argmax(values, axis=1)]


def agreement_table(labels: pd.DataFrame, fractions: pd.DataFrame) -> pd.DataFrame:
    """One row per scored example: its question, label, the predicted answer and agreement.

    ``fractions`` holds the 34 ``_fraction`` columns, row-aligned with ``labels``.
    """
    rows = []
    for i, row in enumerate(labels.itertuples(index=False)):
        if not row.accepted:
            continue
        predicted = most_likely_answers(fractions.iloc[[i]], row.gz_question)[0]
        rows.append(
            {
                "file": Path(row.file).name,
                "survey": row.survey,
                "gz_question": row.gz_question,
                "answer": row.answer,
                "accepted": "|".join(row.accepted),
                "predicted": predicted,
                "agrees": predicted in row.accepted,
            }
        )
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame, n_examples: int) -> dict[str, Any]:
    """Counts of agreement: headline (the selection's questions), per question and per survey."""
    head = table[table["gz_question"].isin(HEADLINE_QUESTIONS)]
    per_question = {}
    for name, group in table.groupby("gz_question", sort=False):
        per_question[name] = _counts(group)
        per_question[name]["by_survey"] = {
            s: _counts(g) for s, g in group.groupby("survey", sort=True)
        }
    return {
        "examples": int(n_examples),
        "scored": len(table),
        "not_scored": int(n_examples - len(table)),
        "headline": {**_counts(head), "questions": list(HEADLINE_QUESTIONS)},
        "all_scored": _counts(table),
        "per_question": per_question,
    }


def _counts(group: pd.DataFrame) -> dict[str, Any]:
    agree, n = int(group["agrees"].sum()), len(group)
    return {"agree": agree, "n": n, "share": round(agree / n, 4) if n else None}


def predict_fractions(
    files: list[str], model: Any, batch_size: int = 32
) -> tuple[pd.DataFrame, np.ndarray]:
    """Vote fractions (34 columns) and representations of ``files`` through ``model``.

    ``model`` is anything ``raregal.encode.load_model`` accepts; the images are preprocessed as
    ``embed`` does (RGB in [0, 1], resized to the model's input).
    """
    import torch

    from raregal.encode.images import Preprocessing, load_image
    from raregal.encode.models import load_model
    from raregal.schema import FRACTION_COLUMNS

    encoder = load_model(model)
    prep = Preprocessing(image_size=encoder.image_size, channels=encoder.channels)
    fractions, features = [], []
    for start in range(0, len(files), batch_size):
        batch = np.stack([load_image(f, prep) for f in files[start : start + batch_size]])
        feats, fracs = encoder.encode(torch.from_numpy(batch).float().div_(255.0))
        if fracs is None:
            raise InputError(f"model {model!r} has no GZ DESI head: it predicts no vote fractions")
        fractions.append(fracs.numpy())
        features.append(feats.numpy())
    return pd.DataFrame(np.concatenate(fractions), columns=FRACTION_COLUMNS), np.concatenate(
        features
    )


def check_model(folder: str | os.PathLike[str], model: Any) -> dict[str, Any]:
    """Agreement of ``model`` with the examples of ``folder``: summary and per-example table."""
    labels = read_labels(folder)
    fractions, _ = predict_fractions(labels["file"].tolist(), model)
    table = agreement_table(labels, fractions)
    return {"summary": summarise(table, len(labels)), "table": table, "fractions": fractions}


def format_summary(name: str, summary: Mapping[str, Any]) -> list[str]:
    """Markdown lines: headline and per-question counts of one model."""
    head = summary["headline"]
    lines = [
        f"### {name}",
        "",
        f"- smooth/featured/artifact and edge-on together: **{head['agree']} of {head['n']}** "
        f"({head['share']:.0%})",
        f"- all scored examples: {summary['all_scored']['agree']} of {summary['all_scored']['n']}"
        f" ({summary['all_scored']['share']:.0%}); {summary['not_scored']} of "
        f"{summary['examples']} not scored (questions GZ DESI does not ask)",
        "",
        "| question | agree | n | share | DECaLS | SDSS |",
        "|---|---|---|---|---|---|",
    ]
    for question, counts in summary["per_question"].items():
        surveys = counts["by_survey"]
        cells = [
            f"{surveys[s]['agree']}/{surveys[s]['n']}" if s in surveys else "-"
            for s in ("decals", "sloan")
        ]
        lines.append(
            f"| {question} | {counts['agree']} | {counts['n']} | {counts['share']:.0%} | "
            f"{cells[0]} | {cells[1]} |"
        )
    return [*lines, ""]
