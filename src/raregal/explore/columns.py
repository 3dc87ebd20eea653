"""Columns the map can be coloured by: cluster, marks, vote fractions, scores and sky position.

Each column is either *categorical* (an int32 code per galaxy, -1 for none, with one name and
colour per code) or *continuous* (a float32 value per galaxy, NaN where unknown, with the range the
colour scale spans). Values are sent in the row order of ``galaxies.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raregal.constants import FRACTION_SUFFIX
from raregal.explore.data import ExploreRun
from raregal.explore.marks import MarksTable
from raregal.io.runfolder import cluster_letter
from raregal.report.palette import cluster_colours, tag_colour

CONTINUOUS = ("probability", "outlier_score", "anomaly_score", "interest", "ra", "dec")
"""Numeric columns of galaxies.parquet offered for colouring, in this order, where present."""
UNIT_RANGE = ("probability",)
CATEGORICAL = ("true_class",)


@dataclass
class ColourColumn:
    """One column's values and how to colour them."""

    name: str
    kind: str
    values: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> bytes:
        dtype = "<i4" if self.kind == "categorical" else "<f4"
        return np.ascontiguousarray(self.values.astype(dtype)).tobytes()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.meta}


class ColourColumns:
    """The colourable columns of a run.

    Parameters
    ----------
    run : ExploreRun
    marks : MarksTable
        Read afresh for the ``mark`` column, so that new marks show at once.
    """

    def __init__(self, run: ExploreRun, marks: MarksTable) -> None:
        self.run = run
        self.marks = marks

    def available(self) -> list[dict[str, str]]:
        """Name, kind and group of each column, in the order the page offers them."""
        g = self.run.galaxies.columns
        out = [{"name": "cluster", "kind": "categorical", "group": "clusters"}]
        out.append({"name": "mark", "kind": "categorical", "group": "clusters"})
        out += [
            {"name": c, "kind": "categorical", "group": "clusters"} for c in CATEGORICAL if c in g
        ]
        out += [{"name": c, "kind": "continuous", "group": "scores"} for c in CONTINUOUS if c in g]
        fractions = self._fraction_names()
        out += [{"name": c, "kind": "continuous", "group": "vote fractions"} for c in fractions]
        return out

    def _fraction_names(self) -> list[str]:
        own = [c for c in self.run.galaxies.columns if str(c).endswith(FRACTION_SUFFIX)]
        if own:
            return own
        return [c for c in self.run.representation_columns() if c.endswith(FRACTION_SUFFIX)]

    def column(self, name: str) -> ColourColumn | None:
        """The column ``name``; None when the run has no such column."""
        if name == "cluster":
            return self._clusters()
        if name == "mark":
            return self._marks()
        g = self.run.galaxies
        if name in CATEGORICAL and name in g.columns:
            return self._categorical(name, g[name])
        if name in CONTINUOUS and name in g.columns:
            values = pd.to_numeric(g[name], errors="coerce").to_numpy(np.float64)
            return self._continuous(name, values)
        if name.endswith(FRACTION_SUFFIX) and name in self._fraction_names():
            values = self.run.fractions[name].to_numpy(np.float64)
            return self._continuous(name, values, unit=True)
        return None

    def _clusters(self) -> ColourColumn:
        labels = self.run.labels.astype(np.int32)
        top = len(self.run.colours)
        names = [cluster_letter(k) for k in range(top)]
        meta = {"categories": names, "colours": cluster_colours(top)}
        return ColourColumn("cluster", "categorical", np.where(labels >= 0, labels, -1), meta)

    def _categorical(self, name: str, values: pd.Series) -> ColourColumn:
        known = values.notna()
        names = sorted({str(v) for v in values[known]})
        code_of = {v: i for i, v in enumerate(names)}
        codes = np.array(
            [code_of.get(str(v), -1) if ok else -1 for v, ok in zip(values, known, strict=True)],
            dtype=np.int32,
        )
        colours = cluster_colours(len(names))
        return ColourColumn(name, "categorical", codes, {"categories": names, "colours": colours})

    def _continuous(self, name: str, values: np.ndarray, unit: bool = False) -> ColourColumn:
        finite = values[np.isfinite(values)]
        if unit or name in UNIT_RANGE:
            lo, hi = 0.0, 1.0
        elif finite.size:
            lo, hi = (float(v) for v in np.percentile(finite, [1, 99]))
            if hi <= lo:
                lo, hi = float(finite.min()), float(finite.max()) + 1e-12
        else:
            lo, hi = 0.0, 1.0
        meta = {"min": lo, "max": hi, "missing": int(values.size - finite.size)}
        return ColourColumn(name, "continuous", values.astype(np.float32), meta)

    def _marks(self) -> ColourColumn:
        """Each galaxy's latest mark: its own, else its cluster's, else its tree node's."""
        marks = self.marks.to_frame().sort_values("mark_id")
        tags = sorted(set(marks["tag"].astype(str)))
        code_of = {t: i for i, t in enumerate(tags)}
        codes = np.full(self.run.n, -1, dtype=np.int32)
        letters = self.run.clusters.set_index(self.run.clusters["letter"].astype(str))["cluster"]
        for kind in ("node", "cluster", "galaxy"):  # later kinds override earlier ones
            for mark in marks[marks["target_kind"] == kind].itertuples():
                code = code_of[str(mark.tag)]
                if kind == "galaxy":
                    row = self.run.row_of_id.get(str(mark.target))
                    if row is not None:
                        codes[row] = code
                elif kind == "cluster" and str(mark.target) in letters.index:
                    codes[self.run.labels == int(letters[str(mark.target)])] = code
                elif kind == "node" and self.run.tree is not None and str(mark.target).isdigit():
                    node = int(mark.target)
                    if self.run.tree.has_node(node):
                        codes[self.run.tree.members(node)] = code
        meta = {"categories": tags, "colours": [tag_colour(t) for t in tags]}
        return ColourColumn("mark", "categorical", codes, meta)


def marked_rows(run: ExploreRun, marks: pd.DataFrame) -> pd.DataFrame:
    """Every galaxy a mark covers, one row per (galaxy, mark), for drawing and exporting.

    Galaxy marks give their galaxy; cluster and tree-node marks give all their members.

    Returns
    -------
    DataFrame
        ``row``, ``mark_id``, ``tag``, ``note``, ``marked`` ("galaxy", "cluster B", "node 6161").
    """
    parts = []
    letters = run.clusters.set_index(run.clusters["letter"].astype(str))["cluster"]
    for mark in marks.sort_values("mark_id").itertuples():
        kind, target = str(mark.target_kind), str(mark.target)
        if kind == "galaxy":
            row = run.row_of_id.get(target)
            rows = np.array([] if row is None else [row], dtype=np.int64)
            label = "galaxy"
        elif kind == "cluster":
            rows = (
                np.flatnonzero(run.labels == int(letters[target]))
                if target in letters.index
                else np.array([], np.int64)
            )
            label = f"cluster {target}"
        else:
            ok = run.tree is not None and target.isdigit() and run.tree.has_node(int(target))
            rows = np.flatnonzero(run.tree.members(int(target))) if ok else np.array([], np.int64)
            label = f"node {target}"
        parts.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "mark_id": int(mark.mark_id),
                    "tag": str(mark.tag),
                    "note": str(mark.note),
                    "marked": label,
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {"row": pd.Series(dtype=np.int64), "mark_id": pd.Series(dtype=np.int64),
             **{c: pd.Series(dtype=object) for c in ("tag", "note", "marked")}}
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)
