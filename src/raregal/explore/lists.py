"""The explorer's lists in the export layout: marks, selections and found lists.

All three go through ``raregal.report.exports.catalog_frame``: ``id_str``, ``ra``, ``dec``,
``cluster``, ``letter``, ``probability``, then what the list adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from raregal.errors import InputError
from raregal.explore.columns import marked_rows
from raregal.explore.data import ExploreRun
from raregal.report.exports import catalog_frame

FOUND_COLUMNS = ("score", "round", "answer")
"""What a found list (search from examples) adds to each galaxy, in this order."""
MARK_COLUMNS = ("tag", "note", "marked")


def _letter_of(run: ExploreRun):
    letters = dict(zip(run.clusters["cluster"].astype(int), run.clusters["letter"].astype(str),
                       strict=True))  # fmt: skip
    return lambda k: letters.get(k, "")


def selection_list(run: ExploreRun, rows: np.ndarray) -> pd.DataFrame:
    """The galaxies of a selection, in row order."""
    return catalog_frame(run.galaxies, rows, letter_of=_letter_of(run))


def marks_list(run: ExploreRun, marks: pd.DataFrame) -> pd.DataFrame:
    """One row per marked galaxy and mark: cluster and node marks give all their members.

    Adds ``tag``, ``note`` and ``marked`` (what the mark was put on: "galaxy", "cluster B",
    "node 6161").
    """
    rows = marked_rows(run, marks)
    extra = rows[list(MARK_COLUMNS)].reset_index(drop=True)
    return catalog_frame(run.galaxies, rows["row"].to_numpy(), extra, _letter_of(run))


def found_list(
    run: ExploreRun, rows: Sequence[Any], extra: Mapping[str, Sequence[Any]]
) -> pd.DataFrame:
    """A found list: the galaxies of ``rows`` with the ``score``, ``round``, ``answer`` given.

    Raises
    ------
    InputError
        For a row outside the run, or an added column whose length differs from ``rows``.
    """
    try:
        index = np.asarray(rows, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise InputError("a found list's 'rows' must be integers (galaxy rows)") from exc
    bad = int(((index < 0) | (index >= run.n)).sum())
    if bad:
        raise InputError(f"{bad} rows of the found list are not galaxies of the run", count=bad)
    columns = {}
    for name in FOUND_COLUMNS:
        if name in extra:
            values = list(extra[name])
            if len(values) != len(index):
                raise InputError(
                    f"the found list has {len(index)} rows but {len(values)} values of '{name}'",
                    column=name,
                    count=len(values),
                )
            columns[name] = values
    frame = pd.DataFrame(columns)
    if "score" in frame:
        frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    if "round" in frame:
        frame["round"] = pd.to_numeric(frame["round"], errors="coerce").fillna(-1).astype(np.int64)
    if "answer" in frame:
        frame["answer"] = frame["answer"].astype(str)
    return catalog_frame(run.galaxies, index, frame if len(frame.columns) else None,
                         _letter_of(run))  # fmt: skip
