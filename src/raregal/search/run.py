"""``run_search``: the search into a run folder, as ``raregal search`` runs it."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from raregal.config import check_widths, validate
from raregal.io.runfolder import RunFolder
from raregal.search.core import search
from raregal.search.estimator import RareClassSearch
from raregal.search.inputs import TableLike, prepare_inputs
from raregal.search.record import record_search, write_recovery

SEARCH_TABLES = ("selection", "embedding", "galaxies", "clusters", "condensed_tree", "recovery")
"""The run tables a search writes (an input may not be one of them: it would be replaced)."""


def run_search(
    representations: TableLike,
    out: str | os.PathLike[str] | RunFolder,
    morphology: TableLike | None = None,
    **params: Any,
) -> RareClassSearch:
    """Run the search into the run folder ``out`` and return the fitted estimator.

    The new result replaces the folder's old one in one commit (``RunFolder.transaction``): a
    search that fails or is killed leaves the old result, and another writer is refused.

    Parameters
    ----------
    representations : path or DataFrame
        Representation table (any format ``raregal.io.tables.read_table`` reads).
    out : path or RunFolder
        The run folder; created, or updated (stored embedding reused when only clustering
        parameters changed: see ``run.json['stages']['reduce']['reused']``). A RunFolder in a
        transaction (``raregal run``) makes the search part of that transaction.
    morphology : path or DataFrame, default=None
        Vote-fraction table joined on the id.
    **params
        Parameters of ``raregal.config.PARAMETERS`` (the rest keep their defaults).
    """
    checked = validate(params)
    run = out if isinstance(out, RunFolder) else RunFolder(out)
    with run.transaction(whole=True):
        tables = {"representations": representations, "morphology": morphology}
        for role, table in tables.items():
            if table is not None and not isinstance(table, pd.DataFrame):
                run.refuse_input(table, role, SEARCH_TABLES)
        inputs = prepare_inputs(
            representations, morphology, checked["id_column"], checked["morphology_id_column"],
            checked["features"], checked["drop_invalid"],
        )  # fmt: skip
        check_widths(len(inputs.feature_names), checked, inputs.sources.get("representations"))
        for role, table in tables.items():
            if table is not None and not isinstance(table, pd.DataFrame):
                run.add_input(role, table)
            else:
                run.record["inputs"].pop(role, None)
        for step, count in inputs.counts.items():
            run.set_count(step, count)
        estimator = RareClassSearch(**params)._set_result(search(inputs, checked, run))
        estimator.run_path_ = run.path
        if "true_class" in estimator.galaxies_.columns:
            write_recovery(run, estimator.galaxies_)
        record_search(run, estimator)
    return estimator
