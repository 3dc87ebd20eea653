"""Agreement with labelled real cutouts: the label mapping, the counting, and the bundled encoder.

``tests/data/real_examples`` holds twelve of the Galaxy Zoo web app's example cutouts (resized
to 128 px) with the answer each illustrates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raregal.encode.real_examples import (
    ANSWER_MAP,
    accepted_answers,
    agreement_table,
    gz_question,
    read_labels,
    summarise,
)
from raregal.errors import InputError
from raregal.schema import FRACTION_COLUMNS, QUESTIONS

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "real_examples"


def test_workflow_wording_maps_to_gz_desi_answers():
    assert gz_question("Could this be a disk viewed edge-on?") == "disk-edge-on"
    assert gz_question("Does the galaxy have a bulge at its center? If so, what shape?") == (
        "edge-on-bulge"
    )
    assert gz_question("What are the odd features?") is None
    assert accepted_answers("smooth-or-featured", "Star or artifact") == ("artifact",)
    assert accepted_answers("bar", "Bar") == ("strong", "weak")
    assert accepted_answers("merging", "Tidal debris") == ("minor-disturbance", "major-disturbance")
    assert accepted_answers(None, "Ring") == ()
    for question, answers in ANSWER_MAP.items():
        allowed = set(QUESTIONS[question].answers)
        assert all(set(a) <= allowed for a in answers.values()), question


def _one_hot(labels: pd.DataFrame, picks: dict[str, str]) -> pd.DataFrame:
    """Fractions where each example's question has all its weight on ``picks[question]``."""
    fractions = pd.DataFrame(
        np.full((len(labels), len(FRACTION_COLUMNS)), 0.01), columns=FRACTION_COLUMNS
    )
    for question, answer in picks.items():
        fractions[f"{question}_{answer}_fraction"] = 0.9
    return fractions


def test_agreement_counts_the_most_likely_answer():
    labels = read_labels(EXAMPLES)
    assert len(labels) == 12 and Path(labels["file"].iloc[0]).is_absolute()
    always_smooth = _one_hot(
        labels, {"smooth-or-featured": "smooth", "disk-edge-on": "no", "bar": "weak"}
    )
    table = agreement_table(labels, always_smooth)
    summary = summarise(table, len(labels))
    per = summary["per_question"]
    assert per["smooth-or-featured"]["agree"] == 2 and per["smooth-or-featured"]["n"] == 8
    assert per["disk-edge-on"]["agree"] == 1 and per["disk-edge-on"]["n"] == 3
    assert per["bar"]["agree"] == 1  # "Bar" accepts strong or weak
    assert summary["headline"]["agree"] == 3 and summary["headline"]["n"] == 11
    assert per["smooth-or-featured"]["by_survey"]["sloan"] == {"agree": 0, "n": 2, "share": 0.0}


def test_bad_example_folders_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"no labels\.csv"):
        read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("file,survey,question\nx.jpg,decals,q\n")
    with pytest.raises(InputError, match=r"missing column.*answer"):
        read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("file,survey,question,answer\nx.jpg,decals,q,a\n")
    with pytest.raises(InputError, match=r"1 image.*missing, first"):
        read_labels(tmp_path)


@pytest.mark.slow
def test_bundled_encoder_tells_smooth_featured_artifact_and_edge_on_apart_on_real_cutouts():
    """Most of the eleven selection-question examples agree (the old 64 px model: 4 of 11)."""
    from raregal.encode.real_examples import check_model

    result = check_model(EXAMPLES, "demo")
    head = result["summary"]["headline"]
    assert head["agree"] >= 7, result["table"]
    fractions = result["fractions"]
    labels = read_labels(EXAMPLES)
    artifact = fractions["smooth-or-featured_artifact_fraction"].to_numpy()
    is_artifact = (labels["answer"] == "Star or artifact").to_numpy()
    assert artifact[is_artifact].mean() > artifact[~is_artifact].mean() + 0.2
