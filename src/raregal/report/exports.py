"""Per-cluster catalogs: CSV and VOTable with ``id_str``, ``ra``, ``dec``, ``probability``.

``ra`` and ``dec`` are included when the run has them. Files are written atomically and read back
with ``astropy.table.Table.read``. The CSV's text cells are escaped for spreadsheets
(``raregal.io.spreadsheet``): an id that starts with ``=`` is never run as a formula.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from raregal.constants import ID_COLUMN
from raregal.io.atomic import atomic_path
from raregal.io.spreadsheet import spreadsheet_safe_frame

EXPORT_COLUMNS = (ID_COLUMN, "ra", "dec", "probability")


def create_export(galaxies: pd.DataFrame, cluster: int) -> pd.DataFrame:
    """The catalog of one cluster, most probable member first.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``id_str``, ``cluster``, ``probability``; ``ra`` and ``dec`` are kept if present.
    cluster : int
        Cluster number.
    """
    members = galaxies[galaxies["cluster"] == cluster]
    members = members.sort_values(["probability", ID_COLUMN], ascending=[False, True])
    columns = [c for c in EXPORT_COLUMNS if c in members.columns]
    out = members[columns].reset_index(drop=True)
    out[ID_COLUMN] = out[ID_COLUMN].astype(str)
    return out


def render_export(table: pd.DataFrame, stem: Path, name: str) -> tuple[Path, Path]:
    """Write ``stem.csv`` and ``stem.vot`` (VOTable); returns both paths.

    Parameters
    ----------
    table : DataFrame
        From ``create_export``.
    stem : Path
        Output path without suffix.
    name : str
        Table name stored in the VOTable (e.g. ``"raregal_cluster_A"``; a valid XML id).
    """
    from astropy import units as u
    from astropy.table import Table

    csv_path, vot_path = stem.with_suffix(".csv"), stem.with_suffix(".vot")
    with atomic_path(csv_path) as tmp:
        spreadsheet_safe_frame(table).to_csv(tmp, index=False, float_format="%.8g")
    votable = Table()
    votable[ID_COLUMN] = np.asarray(table[ID_COLUMN], dtype=str)
    for column in table.columns[1:]:
        votable[column] = table[column].to_numpy(dtype=float)
    for column in ("ra", "dec"):
        if column in votable.colnames:
            votable[column].unit = u.deg
    votable.meta["name"] = name
    with atomic_path(vot_path) as tmp:
        votable.write(tmp, format="votable", overwrite=True)
    return csv_path, vot_path
