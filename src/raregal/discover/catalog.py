"""Catalogs of the discovery loop (found galaxies, answered rounds, the queue) that TOPCAT opens.

Columns in raregal's one export order (``raregal.report.exports.LEAD_COLUMNS``): ``id_str``,
``ra``, ``dec``, ``cluster``, ``letter``, ``probability``, then what the list adds (``score``,
``rank``, ``round``, ``answer``, ...). The format follows the file name
(``raregal.io.tables.guess_format``); a VOTable carries degrees and the UCDs
``pos.eq.ra;meta.main`` / ``pos.eq.dec;meta.main`` so that TOPCAT finds the sky position by
itself, and a galaxy never answered has a null ``round``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from raregal.io.atomic import atomic_path
from raregal.io.tables import guess_format, write_table
from raregal.report.exports import LEAD_COLUMNS, csv_text, votable_bytes


def catalog_order(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the leading columns first (those it has), the others after, in order."""
    first = [c for c in LEAD_COLUMNS if c in table.columns]
    return table[first + [c for c in table.columns if c not in first]]


def write_catalog(table: pd.DataFrame, path: str | os.PathLike[str], name: str = "raregal"
                  ) -> Path:  # fmt: skip
    """Write ``table`` atomically in the format its file name says; returns the path.

    CSV and VOTable go through raregal's one catalog writer (``raregal.report.exports``:
    spreadsheet-safe CSV; a VOTable with ra/dec in degrees, their UCDs and nulls); other formats
    through ``raregal.io.tables.write_table``.

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
    table = catalog_order(table).reset_index(drop=True)
    fmt = guess_format(path)
    if fmt not in ("votable", "csv"):
        return write_table(table, path)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            tmp.write_text(csv_text(table), encoding="utf-8")
        else:
            tmp.write_bytes(votable_bytes(table, name))
    return path
