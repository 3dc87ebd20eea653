"""The one catalog writer of raregal's lists: cluster members, marks, selections and found lists.

Every list is written the same way so that TOPCAT, astropy and spreadsheets read them alike:
``id_str`` first, then ``ra``, ``dec``, ``cluster``, ``letter``, ``probability`` (those the run
has), then the columns the list adds (``tag``, ``note`` for marks; ``score``, ``round``,
``answer`` for found lists), as CSV and as VOTable.

CSV cells of text columns that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
get a leading ``'`` (``raregal.io.spreadsheet``) so that a spreadsheet shows them instead of
running them as formulas; numbers are written as numbers. The VOTable keeps text as it is (XML
escaping is astropy's).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from raregal.constants import ID_COLUMN
from raregal.io.atomic import atomic_path
from raregal.io.spreadsheet import spreadsheet_safe_frame

LEAD_COLUMNS = (ID_COLUMN, "ra", "dec", "cluster", "letter", "probability")
"""The columns every exported list starts with, in this order (where the run has them)."""
UCDS = {ID_COLUMN: "meta.id;meta.main", "ra": "pos.eq.ra;meta.main", "dec": "pos.eq.dec;meta.main"}


def _default_letter(k: int) -> str:
    from raregal.io.runfolder import cluster_letter

    return cluster_letter(k)


def catalog_frame(
    galaxies: pd.DataFrame,
    rows: Sequence[int] | np.ndarray | None = None,
    extra: pd.DataFrame | None = None,
    letter_of: Callable[[int], str] | None = None,
) -> pd.DataFrame:
    """A list of galaxies in the export layout.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``id_str``; ``ra``, ``dec``, ``cluster``, ``probability`` and ``letter`` are used
        when present (the letter is derived from ``cluster`` otherwise).
    rows : sequence of int, optional
        Positional rows of ``galaxies`` in the list's order (all rows by default).
    extra : DataFrame, optional
        Columns the list adds, one row per entry of ``rows`` in the same order.
    letter_of : callable, optional
        Cluster number -> letter (raregal's A, B, ... numbering by default).
    """
    rows = np.arange(len(galaxies)) if rows is None else np.asarray(rows, dtype=np.int64)
    picked = galaxies.iloc[rows]
    out = pd.DataFrame({ID_COLUMN: picked[ID_COLUMN].astype(str).to_numpy()})
    for column in ("ra", "dec"):
        if column in picked.columns:
            out[column] = picked[column].to_numpy(dtype=float)
    if "cluster" in picked.columns:
        clusters = picked["cluster"].to_numpy(dtype=np.int64)
        out["cluster"] = clusters
        if "letter" in picked.columns:
            out["letter"] = picked["letter"].astype(str).to_numpy()
        else:
            name = letter_of or _default_letter
            out["letter"] = [name(int(k)) if k >= 0 else "" for k in clusters]
    if "probability" in picked.columns:
        out["probability"] = picked["probability"].to_numpy(dtype=float)
    if extra is not None:
        if len(extra) != len(out):
            raise ValueError(f"extra has {len(extra)} rows for a list of {len(out)} galaxies")
        for column in extra.columns:
            if column not in out.columns:
                out[column] = extra[column].to_numpy()
    return out


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def csv_text(table: pd.DataFrame) -> str:
    """The list as spreadsheet-safe CSV text."""
    return spreadsheet_safe_frame(table).to_csv(index=False, float_format="%.8g")


def votable_bytes(table: pd.DataFrame, name: str) -> bytes:
    """The list as a VOTable (astropy's writer; ra and dec in degrees with their UCDs).

    ``name`` is the table name stored in the file (for example ``"raregal_cluster_A"``).
    """
    from astropy import units as u
    from astropy.table import MaskedColumn, Table

    votable = Table()
    for column in table.columns:
        values = table[column]
        if _is_text(values):
            votable[column] = np.asarray(["" if pd.isna(v) else str(v) for v in values], dtype=str)
        elif pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            missing = values.isna().to_numpy()  # pandas' nullable Int64: VOTable nulls
            kind = bool if pd.api.types.is_bool_dtype(values.dtype) else np.int64
            data = values.fillna(kind(0)).to_numpy(dtype=kind)
            votable[column] = MaskedColumn(data, mask=missing) if missing.any() else data
        else:
            votable[column] = values.to_numpy(dtype=float)
        if column in ("ra", "dec"):
            votable[column].unit = u.deg
        if column in UCDS:
            votable[column].meta["ucd"] = UCDS[column]
    votable.meta["name"] = name
    buffer = io.BytesIO()
    votable.write(buffer, format="votable")
    return buffer.getvalue()


def write_catalog(table: pd.DataFrame, stem: Path, name: str) -> tuple[Path, Path]:
    """Write ``stem.csv`` and ``stem.vot`` atomically; returns both paths."""
    csv_path, vot_path = stem.with_suffix(".csv"), stem.with_suffix(".vot")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(csv_path) as tmp:
        tmp.write_text(csv_text(table), encoding="utf-8")
    with atomic_path(vot_path) as tmp:
        tmp.write_bytes(votable_bytes(table, name))
    return csv_path, vot_path


def create_export(galaxies: pd.DataFrame, cluster: int) -> pd.DataFrame:
    """The catalog of one cluster, most probable member first, in the export layout.

    Parameters
    ----------
    galaxies : DataFrame
        Requires ``id_str``, ``cluster``, ``probability``; ``ra`` and ``dec`` are kept if present.
    cluster : int
        Cluster number.
    """
    members = galaxies.reset_index(drop=True)
    members = members[members["cluster"] == cluster]
    ordered = members.sort_values(["probability", ID_COLUMN], ascending=[False, True])
    return catalog_frame(galaxies.reset_index(drop=True), ordered.index.to_numpy())


def render_export(table: pd.DataFrame, stem: Path, name: str) -> tuple[Path, Path]:
    """Write a cluster's catalog as ``stem.csv`` and ``stem.vot``; see ``write_catalog``."""
    return write_catalog(table, stem, name)
