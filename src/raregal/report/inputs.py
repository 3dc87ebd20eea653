"""Reading a run folder for the report: the tables it needs and ``run.json``, through the
run-folder contract (``raregal.io.runfolder``): ``galaxies``, ``clusters``, ``condensed_tree``
and, when present, ``recovery``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FILE_COLUMN
from raregal.errors import InputError
from raregal.io.runfolder import RunFolder


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
        ``run.json``.
    recovery : DataFrame or None
        ``recovery.csv`` when the run knows the planted classes.
    seed_clusters : DataFrame or None
        ``seed_clusters.parquet``: every seed's labels, when the run has several seeds.
    placed : DataFrame or None
        ``placed.parquet``: galaxies placed later by ``raregal predict --add``.
    """

    path: Path
    galaxies: pd.DataFrame
    clusters: pd.DataFrame
    tree: pd.DataFrame
    record: dict[str, Any]
    recovery: pd.DataFrame | None
    seed_clusters: pd.DataFrame | None = None
    placed: pd.DataFrame | None = None

    @property
    def n_seeds(self) -> int:
        """Seeds of the run (1 unless it was searched with ``n_seeds`` > 1)."""
        return max(1, len((self.record.get("search") or {}).get("seeds") or []))


def read_run(run_dir: str | os.PathLike[str]) -> RunTables:
    """Read and check the tables of a run folder (``raregal.io.runfolder.RunFolder.open``).

    Raises
    ------
    InputError
        When the folder, its run.json or one of its required tables is missing, a table breaks
        the run-folder contract, the folder was written by an older raregal, or galaxies carry a
        cluster label that ``clusters.parquet`` does not know (the count is given).
    """
    run = RunFolder.open(run_dir)
    path = run.path
    galaxies = run.read_table("galaxies")
    clusters = run.read_table("clusters").sort_values("cluster").reset_index(drop=True)
    tree = run.read_table("condensed_tree")
    labels = galaxies["cluster"].to_numpy()
    unknown = (labels >= 0) & ~np.isin(labels, clusters["cluster"].to_numpy())
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} galaxies carry cluster labels absent from clusters.parquet",
            path=run.table_path("galaxies"),
            column="cluster",
            count=int(unknown.sum()),
        )
    if FILE_COLUMN in galaxies.columns:  # documented absolute; a relative path is the run's own
        galaxies[FILE_COLUMN] = [
            os.path.join(path, p) if isinstance(p, str) and p and not os.path.isabs(p) else p
            for p in galaxies[FILE_COLUMN]
        ]
    recovery = run.read_table("recovery") if run.has_table("recovery") else None
    seed_clusters = run.read_table("seed_clusters") if run.has_table("seed_clusters") else None
    placed = run.read_table("placed") if run.has_table("placed") else None
    return RunTables(path, galaxies, clusters, tree, run.record, recovery, seed_clusters, placed)


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
    run = RunFolder.open(run_dir)
    columns = ["target_kind", "target", "tag", "note"]
    if not run.has_table("marks"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return run.read_table("marks")[columns].astype(str)
