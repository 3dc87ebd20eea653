"""Reading a run folder for the report: the tables it needs, checked, and ``run.json``.

The report reads only the run folder (see ``docs/for_developers.md``): ``galaxies.parquet``,
``clusters.parquet``, ``condensed_tree.parquet``, ``run.json`` and, when present, ``recovery.csv``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster import cluster_letter
from raregal.constants import FILE_COLUMN, ID_COLUMN
from raregal.errors import InputError
from raregal.run import RUN_JSON
from raregal.tables import read_table, require_columns

GALAXY_COLUMNS = (ID_COLUMN, "cluster", "probability", "map_x", "map_y")
CLUSTER_COLUMNS = ("cluster", "size", "persistence")
TREE_COLUMNS = ("parent", "child", "lambda_val", "child_size")
RECOVERY_COLUMNS = ("true_class", "cluster", "purity", "completeness")
RECOVERY_CSV = "recovery.csv"
MARKS_FILE = "marks.parquet"
MARK_COLUMNS = ("target_kind", "target", "tag", "note")


@dataclass
class RunTables:
    """What the report reads from a run folder.

    Attributes
    ----------
    galaxies : DataFrame
        ``galaxies.parquet``: id_str, cluster, probability, map_x, map_y (+ ra, dec, file_loc).
    clusters : DataFrame
        ``clusters.parquet`` ordered by cluster number, with a ``letter`` column.
    tree : DataFrame
        ``condensed_tree.parquet``: parent, child, lambda_val, child_size.
    record : dict
        ``run.json`` (empty when the file is absent).
    recovery : DataFrame or None
        ``recovery.csv`` when the run knows the planted classes.
    """

    path: Path
    galaxies: pd.DataFrame
    clusters: pd.DataFrame
    tree: pd.DataFrame
    record: dict[str, Any]
    recovery: pd.DataFrame | None


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise InputError("not found; is this a finished run folder?", path=path)
    df = read_table(path)
    require_columns(df, list(columns), path)
    return df


def read_run(run_dir: str | os.PathLike[str]) -> RunTables:
    """Read and check the tables of a run folder.

    Raises
    ------
    InputError
        When the folder or one of its required tables is missing, a column is missing, or
        galaxies carry a cluster label that ``clusters.parquet`` does not know (the count is given).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise InputError("is not a run folder", path=path)
    galaxies = _read(path / "galaxies.parquet", GALAXY_COLUMNS)
    clusters = _read(path / "clusters.parquet", CLUSTER_COLUMNS)
    tree = _read(path / "condensed_tree.parquet", TREE_COLUMNS)
    clusters = clusters.sort_values("cluster").reset_index(drop=True)
    if "letter" not in clusters.columns:
        clusters["letter"] = [cluster_letter(int(c)) for c in clusters["cluster"]]
    labels = galaxies["cluster"].to_numpy()
    unknown = (labels >= 0) & ~np.isin(labels, clusters["cluster"].to_numpy())
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} galaxies carry cluster labels absent from clusters.parquet",
            path=path / "galaxies.parquet",
            column="cluster",
            count=int(unknown.sum()),
        )
    if FILE_COLUMN in galaxies.columns:  # documented absolute; a relative path is the run's own
        galaxies[FILE_COLUMN] = [
            os.path.join(path, p) if isinstance(p, str) and p and not os.path.isabs(p) else p
            for p in galaxies[FILE_COLUMN]
        ]
    record_path = path / RUN_JSON
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    recovery_path = path / RECOVERY_CSV
    recovery = _read(recovery_path, RECOVERY_COLUMNS) if recovery_path.exists() else None
    return RunTables(path, galaxies, clusters, tree, record, recovery)


def find_flag(record: Any, name: str) -> bool:
    """True when a key ``name`` is set to a true value anywhere in ``run.json``."""
    if isinstance(record, dict):
        return any(
            (key == name and bool(value)) or find_flag(value, name) for key, value in record.items()
        )
    if isinstance(record, list):
        return any(find_flag(item, name) for item in record)
    return False


def read_marks(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The explorer's marks of the run (``marks.parquet``); an empty table when there are none."""
    path = Path(run_dir) / MARKS_FILE
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MARK_COLUMNS})
    marks = read_table(path)
    require_columns(marks, list(MARK_COLUMNS), path)
    return marks[list(MARK_COLUMNS)].astype(str)
