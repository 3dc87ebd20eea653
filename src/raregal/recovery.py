"""How well the clusters recover classes of known membership (planted or simulated).

Purity of cluster k for class c: the fraction of k's members that are in c. Completeness: the
fraction of c's members that are in k. A planted class is **recovered** when the leaf clusters in
which it is the majority class, each with purity >= 0.7, together hold at least 20% of its
members.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from raregal.constants import NOISE
from raregal.errors import InputError
from raregal.io.tables import require_columns

MIN_PURITY = 0.7
MIN_FRACTION_HELD = 0.2
BACKGROUND_CLASSES = ("bulk",)
RECOVERY_COLUMNS = ("true_class", "cluster", "purity", "completeness")
SUMMARY_COLUMNS = (
    "true_class", "members", "recovered", "fraction_held", "clusters", "best_purity",
    "best_completeness",
)  # fmt: skip


def recovery_table(galaxies: pd.DataFrame) -> pd.DataFrame:
    """Purity and completeness of every (true_class, cluster) pair that shares a galaxy.

    Parameters
    ----------
    galaxies : DataFrame
        ``true_class`` and ``cluster`` (NOISE = -1 is not a cluster and is left out).

    Returns
    -------
    DataFrame
        ``true_class``, ``cluster``, ``purity``, ``completeness``, plus ``members`` (shared
        galaxies) and ``majority`` (whether the class is the cluster's most common one).
    """
    require_columns(galaxies, ["true_class", "cluster"], galaxies.attrs.get("source"))
    missing = int(galaxies["true_class"].isna().sum())
    if missing:
        raise InputError(
            f"{missing} galaxies have no true_class", path=galaxies.attrs.get("source"),
            column="true_class", count=missing,
        )  # fmt: skip
    classes = galaxies["true_class"].astype(str)
    class_sizes = classes.value_counts()
    labels = galaxies["cluster"].to_numpy()
    in_cluster = labels != NOISE
    pairs = (
        pd.DataFrame({"true_class": classes[in_cluster], "cluster": labels[in_cluster]})
        .groupby(["true_class", "cluster"]).size().rename("members").reset_index()
    )  # fmt: skip
    if pairs.empty:
        return pd.DataFrame(
            {"true_class": [], "cluster": [], "purity": [], "completeness": [], "members": [],
             "majority": []}
        ).astype({"cluster": int, "members": int, "majority": bool})  # fmt: skip
    cluster_sizes = pairs.groupby("cluster")["members"].transform("sum")
    pairs["purity"] = pairs["members"] / cluster_sizes
    pairs["completeness"] = pairs["members"] / class_sizes.reindex(pairs["true_class"]).to_numpy()
    top = pairs.groupby("cluster")["members"].transform("max")
    pairs["majority"] = pairs["members"] == top
    ordered = pairs.sort_values(["true_class", "members"], ascending=[True, False])
    columns = [*RECOVERY_COLUMNS, "members", "majority"]
    return ordered[columns].reset_index(drop=True)


def recovery_summary(
    galaxies: pd.DataFrame,
    classes: Iterable[str] | None = None,
    background: Iterable[str] = BACKGROUND_CLASSES,
    min_purity: float = MIN_PURITY,
    min_fraction_held: float = MIN_FRACTION_HELD,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the recovery rule to each class.

    Parameters
    ----------
    galaxies : DataFrame
        ``true_class`` and ``cluster``.
    classes : iterable of str, default=None
        Classes to judge; None means every class not in ``background``.
    background : iterable of str, default=('bulk',)
        Classes that are not planted (ignored when ``classes`` is None).
    min_purity : float, default=0.7
    min_fraction_held : float, default=0.2

    Returns
    -------
    table : DataFrame
        ``recovery_table(galaxies)``.
    summary : DataFrame
        One row per class: ``members``, ``recovered``, ``fraction_held`` (members in its pure
        majority clusters), ``clusters`` (their numbers, comma separated), ``best_purity`` and
        ``best_completeness`` over the clusters where it is the majority (0 if none).
    """
    table = recovery_table(galaxies)
    sizes = galaxies["true_class"].astype(str).value_counts()
    if classes is None:
        skip = set(background)
        classes = [c for c in sorted(sizes.index) if c not in skip]
    rows = []
    for name in classes:
        mine = table[(table["true_class"] == name) & table["majority"]]
        pure = mine[mine["purity"] >= min_purity]
        held = float(pure["completeness"].sum())
        rows.append({
            "true_class": name,
            "members": int(sizes.get(name, 0)),
            "recovered": bool(held >= min_fraction_held),
            "fraction_held": held,
            "clusters": ",".join(str(int(c)) for c in sorted(pure["cluster"])),
            "best_purity": float(mine["purity"].max()) if len(mine) else 0.0,
            "best_completeness": float(mine["completeness"].max()) if len(mine) else 0.0,
        })  # fmt: skip
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return table, summary


def recovered_fraction(summary: pd.DataFrame) -> float:
    """Fraction of the judged classes that are recovered."""
    return float(np.mean(summary["recovered"])) if len(summary) else 0.0


def seeds_recovered(
    true_class: pd.Series | np.ndarray,
    seed_labels: pd.DataFrame,
    classes: Iterable[str] | None = None,
) -> pd.Series:
    """In how many seeds each class is recovered (the rule above, applied to each seed's labels).

    Parameters
    ----------
    true_class : Series or ndarray, shape (n,)
        The class of each galaxy, in the rows of ``seed_labels``.
    seed_labels : DataFrame
        The ``cluster_seed_<seed>`` columns of a run's seed_clusters table.
    classes : iterable of str, default=None
        As in ``recovery_summary``.

    Returns
    -------
    Series of int, indexed by class
    """
    from raregal.io.runfolder import seed_cluster_columns

    counts: pd.Series | None = None
    for column in seed_cluster_columns(seed_labels):
        frame = pd.DataFrame({"true_class": np.asarray(true_class),
                              "cluster": seed_labels[column].to_numpy()})  # fmt: skip
        _, summary = recovery_summary(frame, classes=classes)
        found = summary.set_index("true_class")["recovered"].astype(int)
        counts = found if counts is None else counts + found
    return counts if counts is not None else pd.Series(dtype=int)
