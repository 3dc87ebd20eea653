"""``run_search``: the search into a run folder, as ``raregal search`` runs it."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from raregal.config import validate
from raregal.io.runfolder import RunFolder
from raregal.search.core import search
from raregal.search.estimator import RareClassSearch
from raregal.search.inputs import TableLike, prepare_inputs
from raregal.search.record import record_search, write_recovery


def run_search(
    representations: TableLike,
    out: str | os.PathLike[str],
    morphology: TableLike | None = None,
    **params: Any,
) -> RareClassSearch:
    """Run the search into the run folder ``out`` and return the fitted estimator.

    Parameters
    ----------
    representations : path or DataFrame
        Representation table (any format ``raregal.io.tables.read_table`` reads).
    out : path
        The run folder; created, or updated (stored embedding reused when only clustering
        parameters changed: see ``run.json['stages']['reduce']['reused']``).
    morphology : path or DataFrame, default=None
        Vote-fraction table joined on the id.
    **params
        Parameters of ``raregal.config.PARAMETERS`` (the rest keep their defaults).
    """
    checked = validate(params)
    run = RunFolder(out)
    inputs = prepare_inputs(
        representations, morphology, checked["id_column"], checked["morphology_id_column"],
        checked["features"], checked["drop_invalid"],
    )  # fmt: skip
    for role, table in (("representations", representations), ("morphology", morphology)):
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
    run.save()
    return estimator
