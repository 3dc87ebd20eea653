"""``predict``: new galaxies into an existing run, without redoing it.

The new table goes through what the run did to its own galaxies, and nothing is refitted:

1. its representations must be the run's: the same feature columns, in the same order (a table
   from another encoder, or of another width, is refused in one line);
2. the run's selection rules remove featureless, edge-on and artifact galaxies as they did in
   the run (those get ``NOT_SELECTED``, -2, and the rule in ``removed_by``);
3. the others are placed into the run's clustered embedding and its map from the run's HNSW
   index (``raregal.predict.model``): on their nearest fitted galaxy, each independently of the
   batch it comes with (``raregal.reduce.placement``);
4. each is assigned to the run's **leaf** clusters from the condensed tree and the core
   distances, as hdbscan's ``approximate_predict`` (``raregal.cluster.assign.assign_anchored``):
   it joins the tree where its nearest fitted galaxy is, at that galaxy's density, with a
   membership probability; a galaxy that no fitted galaxy would count among its neighbours
   (``within_reach``) fits no cluster and is noise (-1).

The result is a table (``TABLES['placed']``): id_str, cluster (the run's numbering), probability,
removed_by, the placed coordinates, and the catalog columns the new table has. With ``add`` the
selected galaxies are also kept in ``RUN/placed.parquet``, which the report and the explorer show
beside the fitted galaxies, flagged as placed; the fitted tables and the tree are not touched.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster.assign import TreeIndex, assign_anchored, tree_index
from raregal.cluster.tree import CondensedTree
from raregal.constants import ID_COLUMN, NOISE, NOT_SELECTED
from raregal.errors import InputError
from raregal.io.runfolder import CARRIED_COLUMNS, TABLES, RunFolder, map_columns, umap_columns
from raregal.predict.model import PlacementModel
from raregal.reduce.neighbours import HNSW_METRICS
from raregal.search.inputs import SearchInputs, TableLike, prepare_inputs

logger = logging.getLogger(__name__)

PLACED_TABLE = "placed"


@dataclass
class FittedRun:
    """A fitted search as placing new galaxies needs it.

    Attributes
    ----------
    model : PlacementModel
    galaxies, clusters, condensed_tree : DataFrame
        The run's tables (galaxies.parquet rows are the model's rows).
    params : dict
        The search parameters as given (ids, features, selection).
    params_used : dict
        As used (``min_samples``, ``n_components``, ``map_components``).
    path : Path or None
        The run folder, when it came from one.
    """

    model: PlacementModel
    galaxies: pd.DataFrame
    clusters: pd.DataFrame
    condensed_tree: pd.DataFrame
    params: dict[str, Any]
    params_used: dict[str, Any]
    path: Path | None = None
    _tree_index: TreeIndex | None = field(default=None, repr=False)

    @classmethod
    def from_run(cls, path: str | os.PathLike[str]) -> FittedRun:
        """Open a run folder for placing (InputError naming what is missing or stale)."""
        run = RunFolder.open(path)
        search = run.record.get("search")
        if not search:
            raise InputError("run.json holds no search; run `raregal search` first",
                             path=run.path / "run.json")  # fmt: skip
        reduce_stage = run.record.get("stages", {}).get("reduce") or {}
        metric = (reduce_stage.get("params") or {}).get("metric", "euclidean")
        if metric not in HNSW_METRICS:
            raise InputError(
                f"the run was reduced with metric {metric!r}, for which raregal keeps no search "
                f"index: only runs with metric {' or '.join(HNSW_METRICS)} can place new galaxies",
                path=run.path / "run.json", column="metric",
            )  # fmt: skip
        model = PlacementModel.load(run.path)
        reduce_key = reduce_stage.get("key")
        if reduce_key is not None and model.key != reduce_key:  # (a saved estimator has none)
            raise InputError(
                "the placement model belongs to another reduction than the run's embedding; "
                "run the search again", path=run.path / "placement" / "placement.json",
            )  # fmt: skip
        return cls(model, run.read_table("galaxies"), run.read_table("clusters"),
                   run.read_table("condensed_tree"), dict(search.get("params", {})),
                   dict(search.get("params_used", {})), run.path)  # fmt: skip

    @property
    def n_components(self) -> int:
        return int(self.params_used.get("n_components", len(self._umap_columns())))

    def _umap_columns(self) -> list[str]:
        return [c for c in self.galaxies.columns if str(c).startswith("umap_")]

    def layouts(self) -> list[np.ndarray]:
        """The fitted clustered embedding and map, rows as the model's."""
        if len(self.galaxies) != self.model.n_fitted:
            raise InputError(
                f"galaxies.parquet has {len(self.galaxies)} rows, the placement model "
                f"{self.model.n_fitted}; run the search again", path=self.path, count=1,
            )  # fmt: skip
        umap = self.galaxies[umap_columns(self.n_components)].to_numpy(np.float32)
        n_map = int(self.params_used.get("map_components", 2))
        return [umap, self.galaxies[map_columns(n_map)].to_numpy(np.float32)]

    def tree_index(self) -> TreeIndex:
        """The condensed tree, core distances and KD-tree for assigning (built once)."""
        if self._tree_index is None:
            umap = self.layouts()[0]
            min_samples = int(self.params_used["min_samples"])
            if "core_distance" in self.galaxies:
                core = self.galaxies["core_distance"].to_numpy(np.float64)
            else:  # a run written before core distances were kept
                from raregal.cluster.density import core_distances

                core = core_distances(umap, min_samples)
            nodes = dict(zip(self.clusters["node"].astype(int),
                             self.clusters["cluster"].astype(int), strict=True))  # fmt: skip
            tree = CondensedTree.from_frame(self.condensed_tree)
            self._tree_index = tree_index(umap, core, tree, nodes, min_samples)
        return self._tree_index


@dataclass
class PredictResult:
    """What ``predict`` found.

    Attributes
    ----------
    table : DataFrame
        One row per new galaxy (``TABLES['placed']``), in the order of the new table, the rows
        it could not use (``--drop-invalid``) last.
    counts : dict
        ``input``, ``selected``, ``not_selected``, ``clustered``, ``noise``, and the per-rule
        and per-reason counts.
    seconds : dict
        Time per step.
    out : Path or None
        Where the table was written.
    added : Path or None
        ``RUN/placed.parquet`` when the galaxies were added to the run.
    """

    table: pd.DataFrame
    counts: dict[str, Any]
    seconds: dict[str, float]
    out: Path | None = None
    added: Path | None = None


def within_reach(model: PlacementModel, placement: Any) -> np.ndarray:
    """Whether each new galaxy lies in the neighbourhood of one of its nearest fitted galaxies.

    A fitted galaxy's neighbourhood is the ball out to its ``n_neighbors``-th nearest galaxy
    (``PlacementModel.radius``). A new galaxy outside the neighbourhood of every one of its own
    ``n_neighbors`` nearest fitted galaxies is one that no galaxy of the run would count among
    its neighbours: an isolated point in the run's graph, which fits no cluster.
    """
    radius = np.asarray(model.radius, dtype=np.float32)[placement.neighbours]
    return (placement.distances <= radius).any(axis=1)


def check_features(inputs: SearchInputs, model: PlacementModel) -> None:
    """Refuse representations other than the run's: another width or other feature names."""
    names, expected = list(inputs.feature_names), list(model.feature_names)
    source = inputs.sources.get("representations")
    if len(names) != len(expected):
        raise InputError(
            f"the table has {len(names)} representation columns ({names[0]}..{names[-1]}), the "
            f"run was fitted on {len(expected)} ({expected[0]}..{expected[-1]}): only "
            "representations from the run's encoder can be placed",
            path=source, column=names[0], count=len(names),
        )  # fmt: skip
    differ = [i for i, (a, b) in enumerate(zip(names, expected, strict=True)) if a != b]
    if differ:
        i = differ[0]
        raise InputError(
            f"{len(differ)} representation column(s) differ from the run's: column {i} is "
            f"{names[i]!r}, the run's is {expected[i]!r}",
            path=source, column=names[i], count=len(differ),
        )  # fmt: skip


def _selection(inputs: SearchInputs, model: PlacementModel) -> tuple[pd.DataFrame, dict[str, int]]:
    """The run's rules applied to the new galaxies (all kept when the run had none)."""
    from raregal.select import Rule, select

    if not model.rules:
        n = len(inputs.ids)
        frame = pd.DataFrame({ID_COLUMN: inputs.ids, "kept": True, "removed_by": ""})
        return frame, {"input": n, "selected": n}
    if inputs.morphology is None:
        names = ", ".join(r["name"] for r in model.rules)
        raise InputError(
            f"the run removed galaxies by their vote fractions ({names}); this table has none: "
            "add the *_fraction columns or pass --morphology",
            path=inputs.sources.get("representations"), column=model.rules[0]["column"],
        )  # fmt: skip
    return select(inputs.morphology, [Rule(**rule) for rule in model.rules])


def place_galaxies(
    fitted: FittedRun,
    representations: TableLike,
    morphology: TableLike | None = None,
    drop_invalid: bool | None = None,
) -> PredictResult:
    """Select, place and assign the galaxies of a new table (see the module docstring).

    Parameters
    ----------
    fitted : FittedRun
    representations : path or DataFrame
        ``id_str`` (or the run's ``id_column``) and the run's feature columns; the vote
        fractions when the run selected by them.
    morphology : path or DataFrame, default=None
        Vote fractions joined on the id, as for the search.
    drop_invalid : bool, default=None
        Count and skip rows with non-finite features or without morphology (None: the run's).

    Returns
    -------
    PredictResult
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    params = fitted.params
    features = params.get("features")
    inputs = prepare_inputs(
        representations, morphology, params.get("id_column", ID_COLUMN),
        params.get("morphology_id_column"), features if isinstance(features, str) else None,
        params.get("drop_invalid", False) if drop_invalid is None else drop_invalid,
    )  # fmt: skip
    check_features(inputs, fitted.model)
    selection, select_counts = _selection(inputs, fitted.model)
    kept = selection["kept"].to_numpy(bool)
    seconds["read_and_select"] = round(time.perf_counter() - start, 3)

    start = time.perf_counter()
    layouts = fitted.layouts()
    placement = fitted.model.place(inputs.X[kept], layouts)
    umap, map_xy = placement.positions
    seconds["place"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    reach = within_reach(fitted.model, placement)
    labels, probabilities = assign_anchored(fitted.tree_index(), placement.nearest,
                                            reach.astype(np.float64))  # fmt: skip
    seconds["assign"] = round(time.perf_counter() - start, 3)

    n = len(inputs.ids)
    table = pd.DataFrame({ID_COLUMN: inputs.ids.astype(str)})
    table["cluster"] = np.full(n, NOT_SELECTED, dtype=np.int64)
    table.loc[kept, "cluster"] = labels
    table["probability"] = 0.0
    table.loc[kept, "probability"] = probabilities
    table["removed_by"] = selection["removed_by"].astype(str).to_numpy()
    for name, values in ((umap_columns(umap.shape[1]), umap),
                         (map_columns(map_xy.shape[1]), map_xy)):  # fmt: skip
        block = np.full((n, values.shape[1]), np.nan)
        block[kept] = values
        for column, data in zip(name, block.T, strict=True):
            table[column] = data
    nearest = np.full(n, "", dtype=object)
    nearest[kept] = fitted.galaxies[ID_COLUMN].astype(str).to_numpy()[placement.nearest]
    table["nearest_id"] = nearest
    for column in CARRIED_COLUMNS:
        if column in inputs.carried:
            table[column] = inputs.carried[column].to_numpy()
    if len(inputs.dropped):
        dropped = inputs.dropped.assign(cluster=NOT_SELECTED, probability=0.0, nearest_id="")
        table = pd.concat([table, dropped], ignore_index=True)
        table["cluster"] = table["cluster"].astype(np.int64)
    clustered = int((labels != NOISE).sum())
    counts = {"input": inputs.counts.get("representations", n), "valid": n,
              "selected": int(kept.sum()), "not_selected": int(len(table) - kept.sum()),
              "clustered": clustered, "noise": int(kept.sum()) - clustered,
              "out_of_reach": int((~reach).sum()),
              "selection": select_counts,
              "dropped": {str(k): int(v) for k, v in
                          inputs.dropped["removed_by"].value_counts().items()}}  # fmt: skip
    return PredictResult(table, counts, seconds)


def predict(
    run: str | os.PathLike[str],
    representations: TableLike,
    out: str | os.PathLike[str] | None = None,
    morphology: TableLike | None = None,
    add: bool = False,
    drop_invalid: bool | None = None,
) -> PredictResult:
    """Place the galaxies of a new table into the run folder ``run``.

    Parameters
    ----------
    run : path-like
        A finished run folder (``raregal search`` or ``raregal run``).
    representations : path or DataFrame
        The new galaxies (see ``place_galaxies``).
    out : path-like, default=None
        Write the table of the new galaxies there (Parquet, CSV, FITS, ... by its suffix).
    morphology : path or DataFrame, default=None
    add : bool, default=False
        Also keep the selected new galaxies in ``RUN/placed.parquet`` (refused for ids the run
        already holds).
    drop_invalid : bool, default=None

    Returns
    -------
    PredictResult
    """
    from raregal.io.tables import write_table

    fitted = FittedRun.from_run(run)
    result = place_galaxies(fitted, representations, morphology, drop_invalid)
    if out is not None:
        TABLES[PLACED_TABLE].check(result.table, out)
        result.out = write_table(result.table, out, metadata={"run": str(fitted.path)})
    if fitted.path is not None:
        run = RunFolder(fitted.path)
        with run.transaction():  # the placed galaxies and their record commit together
            if add:
                result.added = add_placed(run, fitted, result.table)
            _record(run, representations, result)
    return result


def add_placed(run: RunFolder, fitted: FittedRun, table: pd.DataFrame) -> Path:
    """Keep the selected galaxies of ``table`` in ``RUN/placed.parquet`` (replacing earlier
    placements of the same ids); refuse ids that the run fitted. ``run`` is in a transaction."""
    selected = table[table["cluster"] != NOT_SELECTED]
    fitted_ids = set(fitted.galaxies[ID_COLUMN].astype(str))
    clash = selected[ID_COLUMN].astype(str).isin(fitted_ids)
    if clash.any():
        example = ", ".join(map(repr, selected.loc[clash, ID_COLUMN].head(3)))
        raise InputError(
            f"{int(clash.sum())} new galaxies carry ids of the run's fitted galaxies (e.g. "
            f"{example}); they cannot be added beside themselves",
            path=run.table_path(PLACED_TABLE), column=ID_COLUMN, count=int(clash.sum()),
        )  # fmt: skip
    if run.has_table(PLACED_TABLE):
        earlier = run.read_table(PLACED_TABLE)
        earlier = earlier[~earlier[ID_COLUMN].astype(str).isin(set(selected[ID_COLUMN]))]
        selected = pd.concat([earlier, selected], ignore_index=True)
    return run.write_table(PLACED_TABLE, selected.reset_index(drop=True))


def _record(run: RunFolder, source: TableLike, result: PredictResult) -> None:
    """Append this placement to run.json's ``predict`` list (input, counts, times, outputs)."""
    import datetime as dt

    from raregal.io.runfolder import file_checksum

    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    entry: dict[str, Any] = {"finished": finished, "counts": result.counts,
                             "seconds": result.seconds,
                             "out": str(result.out) if result.out else None,
                             "added": bool(result.added)}  # fmt: skip
    if not isinstance(source, pd.DataFrame):
        entry["input"] = {"path": str(Path(source).resolve()), "checksum": file_checksum(source)}
    run.record.setdefault("predict", []).append(entry)
