"""Every encoded galaxy of a run, selected or not, as the discovery loop reads it.

The representations (``feat_*``) of every encoded galaxy are in ``RUN/representations.parquet``
(when the run encoded images) or in the input table recorded in ``run.json``
(``inputs.representations``); vote fractions come from the same table or from the recorded
morphology table. The selection (``selection.parquet``) and the clustering (``galaxies.parquet``)
say which galaxies were kept and where they went: a galaxy that the selection removed has the
cluster ``NOT_SELECTED``. Rows whose features are not finite cannot be ranked: they are left out,
counted and logged, never silently dropped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN, FRACTION_SUFFIX, ID_COLUMN, NOT_SELECTED
from raregal.errors import InputError
from raregal.io.runfolder import CARRIED_COLUMNS, RunFolder
from raregal.io.tables import feature_columns, read_table, resolve_file_locs

logger = logging.getLogger(__name__)

UNREADABLE = "unreadable_features"


@dataclass
class EncodedGalaxies:
    """Every rankable encoded galaxy of a run, row for row.

    Attributes
    ----------
    ids : ndarray of str, shape (n,)
    X : ndarray of float32, shape (n, n_features)
    feature_names : list of str
    catalog : DataFrame
        ``id_str`` and, where known, ``ra``, ``dec``, ``file_loc`` (absolute) and ``true_class``.
    selected : ndarray of bool
        Kept by the morphology selection.
    cluster : ndarray of int
        Cluster number, ``NOISE`` (-1), or ``NOT_SELECTED`` (-2) for galaxies the selection
        removed.
    probability : ndarray of float
        HDBSCAN membership strength (NaN for galaxies not selected).
    source : Path
        The representation table.
    fraction_source : Path or None
        The table holding the vote fractions (``fractions()`` reads them), keyed by
        ``fraction_id_column``.
    skipped : dict
        Rows left out and why (``unreadable_features``: NaN or inf features).
    """

    ids: np.ndarray
    X: np.ndarray
    feature_names: list[str]
    catalog: pd.DataFrame
    selected: np.ndarray
    cluster: np.ndarray
    probability: np.ndarray
    source: Path
    skipped: dict[str, int]
    run_path: Path
    fraction_source: Path | None = None
    fraction_id_column: str = ID_COLUMN

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property
    def row_of_id(self) -> dict[str, int]:
        """Row of each id."""
        return dict(zip(self.ids.tolist(), range(self.n), strict=True))

    def rows(self, ids: list[str] | tuple[str, ...], what: str = "id") -> np.ndarray:
        """Rows of ``ids``; InputError naming the unknown ones and how many there are."""
        missing = [i for i in ids if str(i) not in self.row_of_id]
        if missing:
            shown = ", ".join(map(repr, missing[:5]))
            raise InputError(
                f"{len(missing)} {what}(s) not among the {self.n} encoded galaxies of the run "
                f"(e.g. {shown})", path=self.source, column=ID_COLUMN, count=len(missing),
            )  # fmt: skip
        return np.array([self.row_of_id[str(i)] for i in ids], dtype=np.int64)

    def fractions(self) -> pd.DataFrame | None:
        """The vote fractions of every galaxy, row for row (None when the run has none)."""
        if self.fraction_source is None:
            return None
        source, id_column = self.fraction_source, self.fraction_id_column
        columns = [c for c in _column_names(source) if c.endswith(FRACTION_SUFFIX)]
        table = read_table(source, columns=[id_column, *columns])
        table[id_column] = table[id_column].astype(str)
        aligned = table.drop_duplicates(id_column).set_index(id_column).reindex(self.ids)
        return aligned.reset_index(drop=True)


def _column_names(path: Path) -> list[str]:
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(read_table(path).columns)


def representation_path(run: RunFolder) -> Path:
    """The run's representation table: its own, or the input recorded in run.json."""
    own = run.table_path("representations")
    if own.exists():
        return own
    entry = run.record.get("inputs", {}).get("representations", {})
    path = entry.get("path") if isinstance(entry, dict) else None
    if path and Path(path).exists():
        return Path(path)
    raise InputError(
        "the run has no representations.parquet and run.json records no readable "
        f"representation table ({path or 'none recorded'})", path=run.path / "run.json",
        column="inputs.representations",
    )  # fmt: skip


def morphology_path(run: RunFolder, representations: Path) -> Path | None:
    """Where the vote fractions are: the representation table, else the recorded morphology."""
    if any(c.endswith(FRACTION_SUFFIX) for c in _column_names(representations)):
        return representations
    entry = run.record.get("inputs", {}).get("morphology", {})
    path = entry.get("path") if isinstance(entry, dict) else None
    return Path(path) if path and Path(path).exists() else None


def load_encoded(run_dir: str | os.PathLike[str], selected_only: bool = False) -> EncodedGalaxies:
    """Every encoded galaxy of the run folder ``run_dir`` (or only the selected ones).

    Raises
    ------
    InputError
        When the run is not a finished run folder, or its representation table is missing.
    """
    run = RunFolder.open(run_dir)
    source = representation_path(run)
    params: dict[str, Any] = (run.record.get("search") or {}).get("params", {})
    id_column = params.get("id_column") or ID_COLUMN
    names = _column_names(source)
    if id_column not in names:
        raise InputError(f"the representation table has no id column {id_column!r}",
                         path=source, column=id_column)  # fmt: skip
    features = feature_columns(pd.DataFrame(columns=names), params.get("features"))
    carried = [c for c in CARRIED_COLUMNS if c in names]
    table = read_table(source, columns=[id_column, *features, *carried])
    ids = table[id_column].astype(str).to_numpy()
    X = table[features].to_numpy(dtype=np.float32)
    finite = np.isfinite(X).all(axis=1)
    skipped = {UNREADABLE: int((~finite).sum())}
    if skipped[UNREADABLE]:
        logger.warning("%s: %d galaxies with NaN or inf features cannot be ranked; left out",
                       source, skipped[UNREADABLE])  # fmt: skip
    catalog = table.loc[finite, carried].reset_index(drop=True)
    catalog.insert(0, ID_COLUMN, ids[finite])
    if FILE_COLUMN in catalog.columns:
        catalog[FILE_COLUMN] = resolve_file_locs(catalog, source.resolve().parent).to_numpy()
    ids, X = ids[finite], np.ascontiguousarray(X[finite])
    cluster, probability, selected = _placement(run, ids)
    fraction_source = morphology_path(run, source)
    fraction_id = id_column
    if fraction_source is not None and fraction_source != source:
        fraction_id = params.get("morphology_id_column") or id_column
    if selected_only:
        keep = selected
        ids, X, catalog = ids[keep], X[keep], catalog.loc[keep].reset_index(drop=True)
        cluster, probability, selected = cluster[keep], probability[keep], selected[keep]
    return EncodedGalaxies(
        ids=ids, X=X, feature_names=features, catalog=catalog, selected=selected,
        cluster=cluster, probability=probability, source=source, skipped=skipped,
        run_path=run.path, fraction_source=fraction_source, fraction_id_column=fraction_id,
    )  # fmt: skip


def _placement(run: RunFolder, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster, probability and selected flag of each id (from galaxies.parquet)."""
    galaxies = run.read_table("galaxies", columns=[ID_COLUMN, "cluster", "probability"])
    by_id = galaxies.assign(**{ID_COLUMN: galaxies[ID_COLUMN].astype(str)}).set_index(ID_COLUMN)
    aligned = by_id.reindex(ids)
    selected = aligned["cluster"].notna().to_numpy()
    cluster = aligned["cluster"].fillna(NOT_SELECTED).to_numpy(np.int64)
    probability = aligned["probability"].to_numpy(np.float64)
    if not selected.any() and len(galaxies):
        raise InputError(
            "no galaxy of galaxies.parquet is in the representation table (do the ids match?)",
            path=run.table_path("galaxies"), column=ID_COLUMN, count=len(galaxies),
        )  # fmt: skip
    return cluster, probability, selected
