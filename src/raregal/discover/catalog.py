"""Catalogs of the discovery loop (found galaxies, answered rounds, the queue) that TOPCAT opens.

Columns in one order: ``id_str`` first, then ``ra``, ``dec``, ``cluster``, ``letter``,
``probability``, then what the list adds (``score``, ``rank``, ``round``, ``answer``, ...). The
format follows the file name (``raregal.io.tables.guess_format``); a VOTable carries degrees and
the UCDs ``pos.eq.ra;meta.main`` / ``pos.eq.dec;meta.main`` so that TOPCAT finds the sky position
by itself, and missing values (a galaxy never answered) as VOTable nulls.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.constants import ID_COLUMN
from raregal.io.atomic import atomic_path
from raregal.io.tables import guess_format, write_table

LEADING_COLUMNS = (ID_COLUMN, "ra", "dec", "cluster", "letter", "probability")
UCDS = {"ra": "pos.eq.ra;meta.main", "dec": "pos.eq.dec;meta.main", ID_COLUMN: "meta.id;meta.main"}


def catalog_order(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the leading columns first (those it has), the others after, in order."""
    first = [c for c in LEADING_COLUMNS if c in table.columns]
    return table[first + [c for c in table.columns if c not in first]]


def write_catalog(table: pd.DataFrame, path: str | os.PathLike[str], name: str = "raregal"
                  ) -> Path:  # fmt: skip
    """Write ``table`` atomically in the format its file name says; returns the path.

    Parameters
    ----------
    table : DataFrame
        Needs ``id_str``; ``ra`` and ``dec`` (degrees) are recognised by TOPCAT in a VOTable.
    path : path-like
        ``.vot``/``.xml`` (VOTable), ``.csv``, ``.parquet``, ``.fits``, ``.ecsv``.
    name : str
        The table name inside a VOTable.
    """
    path = Path(path)
    table = catalog_order(table)
    if guess_format(path) != "votable":
        return write_table(table.reset_index(drop=True), path)
    with atomic_path(path) as tmp:
        votable(table, name).write(tmp, format="votable", overwrite=True)
    return path


def votable(table: pd.DataFrame, name: str):
    """An astropy Table of ``table`` for VOTable output: masked nulls, units and UCDs."""
    from astropy import units as u
    from astropy.table import MaskedColumn, Table

    out = Table()
    for column in table.columns:
        values = table[column]
        missing = values.isna().to_numpy()
        if pd.api.types.is_bool_dtype(values):
            data = values.fillna(False).to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(values):  # nullable Int64 too
            data = values.fillna(0).to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(values):
            data = values.to_numpy(dtype=float)
        else:
            data = values.fillna("").astype(str).to_numpy(dtype=str)
        out[str(column)] = MaskedColumn(data, mask=missing) if missing.any() else data
        if column in ("ra", "dec"):
            out[str(column)].unit = u.deg
    out.meta["name"] = name
    for column, ucd in UCDS.items():
        if column in out.colnames:
            out[column].meta["ucd"] = ucd
    return out

