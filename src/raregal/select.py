"""The morphology selection: remove featureless, edge-on and artifact galaxies before clustering.

The rules are data (``Rule``). A galaxy is removed by the first rule (in order) whose fraction
reaches its threshold; ``removed_by`` names that rule.

NaN rule: in the published GZ DESI 'friendly' catalog a fraction is NaN when the question was
rarely asked of that galaxy (too few volunteers reached it). A NaN fraction therefore cannot show
that the galaxy is smooth, edge-on or an artifact, and the rule does **not** remove it. The
number of such NaN values per rule is counted (``nan_<rule>`` in the counts) so that nothing
passes silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from raregal.config import DEFAULTS, PARAMETER_TABLE
from raregal.constants import ID_COLUMN
from raregal.errors import InputError
from raregal.io.tables import require_columns
from raregal.schema import FRACTION_COLUMNS, joint_fraction

EDGE_ON_RULES: tuple[str, ...] = PARAMETER_TABLE["edge_on_rule"].constraint.choices()
SMOOTH_COLUMN = "smooth-or-featured_smooth_fraction"
EDGE_ON_COLUMN = "disk-edge-on_yes_fraction"
ARTIFACT_COLUMN = "smooth-or-featured_artifact_fraction"


@dataclass(frozen=True)
class Rule:
    """Remove a galaxy when ``column`` >= ``threshold``.

    ``column`` is a vote-fraction column; ``joint=True`` multiplies it by the probability of
    reaching its question (see ``raregal.schema.joint_fraction``).
    """

    name: str
    column: str
    threshold: float
    joint: bool = False

    def values(self, morphology: pd.DataFrame) -> pd.Series:
        if self.joint:
            return joint_fraction(morphology, self.column.removesuffix("_fraction"))
        return morphology[self.column].astype(float)

    def needed_columns(self) -> list[str]:
        if not self.joint:
            return [self.column]
        needed = [self.column]
        if self.column == "disk-edge-on_yes_fraction":
            needed.append("smooth-or-featured_featured-or-disk_fraction")
        return needed


def paper_rules(
    keep_artifacts: bool = DEFAULTS["keep_artifacts"],
    edge_on_rule: str = DEFAULTS["edge_on_rule"],
    smooth_threshold: float = DEFAULTS["smooth_threshold"],
    edge_on_threshold: float = DEFAULTS["edge_on_threshold"],
    artifact_threshold: float = DEFAULTS["artifact_threshold"],
) -> list[Rule]:
    """The paper's rules: remove smooth, edge-on and (unless kept) artifact galaxies.

    Parameters
    ----------
    keep_artifacts : bool
        Drop the artifact rule (the paper's artifact experiment).
    edge_on_rule : {'conditional', 'joint'}
        Use the edge-on fraction as published (conditional on featured-or-disk) or the joint
        probability featured-or-disk x edge-on yes.
    smooth_threshold, edge_on_threshold, artifact_threshold : float
        A galaxy is removed when its fraction reaches the threshold. Defaults (the paper's) are
        in ``raregal.config.PARAMETERS``.
    """
    if edge_on_rule not in EDGE_ON_RULES:
        raise InputError(
            f"parameter 'edge_on_rule' must be one of {EDGE_ON_RULES}; got {edge_on_rule!r}",
            column="edge_on_rule",
        )
    rules = [
        Rule("smooth", SMOOTH_COLUMN, smooth_threshold),
        Rule("edge_on", EDGE_ON_COLUMN, edge_on_threshold, joint=edge_on_rule == "joint"),
    ]
    if not keep_artifacts:
        rules.append(Rule("artifact", ARTIFACT_COLUMN, artifact_threshold))
    return rules


FRACTION_TOLERANCE = 1e-3
"""How far outside [0, 1] a vote fraction may lie (rounding) before the table is refused."""


def check_fractions(df: pd.DataFrame, source: Any = None) -> None:
    """Refuse vote-fraction columns that hold text or values outside [0, 1] beyond rounding.

    Raises
    ------
    InputError
        Naming the file, the first bad column and the number of bad values, with examples.
    """
    for name in (c for c in FRACTION_COLUMNS if c in df.columns):
        column = df[name]
        values = pd.to_numeric(column, errors="coerce")
        text = values.isna() & column.notna()
        if pd.api.types.is_bool_dtype(column) or text.any():
            bad = column[text] if text.any() else column
            raise InputError(
                f"vote-fraction column {name!r} holds {len(bad)} value(s) that are not numbers "
                f"(e.g. {', '.join(map(repr, bad.unique()[:3]))})",
                path=source, column=name, count=len(bad),
            )  # fmt: skip
        infinite = np.isinf(values.to_numpy(dtype=float))
        if infinite.any():
            raise InputError(
                f"{int(infinite.sum())} infinite value(s) in column {name!r}", path=source,
                column=name, count=int(infinite.sum()),
            )  # fmt: skip
        outside = (values < -FRACTION_TOLERANCE) | (values > 1 + FRACTION_TOLERANCE)
        if outside.any():
            examples = ", ".join(f"{v:g}" for v in values[outside].unique()[:3])
            raise InputError(
                f"vote-fraction column {name!r} holds {int(outside.sum())} value(s) outside "
                f"[0, 1] (e.g. {examples}); is this the right table and column?",
                path=source, column=name, count=int(outside.sum()),
            )  # fmt: skip


def has_morphology(df: pd.DataFrame) -> bool:
    """True when ``df`` holds any Galaxy Zoo DESI vote-fraction column."""
    return any(c in df.columns for c in FRACTION_COLUMNS)


def select(
    morphology: pd.DataFrame, rules: Sequence[Rule] | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply the rules.

    Parameters
    ----------
    morphology : DataFrame
        ``id_str`` and the fraction columns the rules need.
    rules : sequence of Rule, default=None
        None means ``paper_rules()``.

    Returns
    -------
    selection : DataFrame
        ``id_str``, ``kept`` (bool), ``removed_by`` (rule name, or '' when kept).
    counts : dict
        ``input``, ``removed_<rule>`` per rule, ``nan_<rule>`` (NaN values the rule let pass),
        and ``selected``.
    """
    rules = paper_rules() if rules is None else list(rules)
    source = morphology.attrs.get("source")
    require_columns(morphology, [ID_COLUMN], source)
    needed = sorted({c for rule in rules for c in rule.needed_columns()})
    require_columns(morphology, needed, source)
    check_fractions(morphology[needed], source)
    n = len(morphology)
    removed_by = np.full(n, "", dtype=object)
    counts: dict[str, int] = {"input": n}
    for rule in rules:
        values = rule.values(morphology).to_numpy(dtype=float)
        if np.isinf(values).any():
            bad = int(np.isinf(values).sum())
            raise InputError(
                f"{bad} infinite value(s) in column {rule.column!r}", path=source,
                column=rule.column, count=bad,
            )  # fmt: skip
        n_nan = int(np.isnan(values).sum())
        if n and n_nan == n:
            raise InputError(
                f"column {rule.column!r} is NaN for all {n} galaxies: the {rule.name!r} rule "
                "cannot be applied; give a morphology table with these vote fractions",
                path=source, column=rule.column, count=n,
            )  # fmt: skip
        counts[f"nan_{rule.name}"] = n_nan
        hit = (values >= rule.threshold) & (removed_by == "")  # NaN >= t is False: not removed
        removed_by[hit] = rule.name
        counts[f"removed_{rule.name}"] = int(hit.sum())
    kept = removed_by == ""
    counts["selected"] = int(kept.sum())
    selection = pd.DataFrame(
        {ID_COLUMN: morphology[ID_COLUMN].astype(str).to_numpy(), "kept": kept,
         "removed_by": removed_by.astype(str)}
    )  # fmt: skip
    return selection, counts
