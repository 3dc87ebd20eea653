"""The parameter table: every parameter of a search, its paper default, its constraint and help.

This table is the one place where a default is written. The estimator
(``raregal.search.RareClassSearch``), both CLI commands (``raregal search``, ``raregal run``:
their options are generated from it), ``run.json`` (``search.params``) and the memory
estimates (``raregal.memory``) take their values from here, and ``validate`` checks a set of
parameters against it. Names follow umap-learn and hdbscan, so that one name means one thing
in the API, the CLI and ``run.json``; the one exception, scikit-learn's ``random_state``, which
the CLI spells ``--seed``, is written in the table (``Parameter.flag``).

Defaults are those of Walmsley & Scaife (2023): featured galaxies (smooth < 0.5, edge-on < 0.3,
artifact < 0.3), UMAP to 5-D with ``n_neighbors=50``, HDBSCAN with ``min_samples=300``,
``min_cluster_size=10`` and leaf selection. The paper does not state ``min_dist``; umap-learn's
default, 0.1, is kept.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from raregal.constants import ID_COLUMN
from raregal.errors import InputError

logger = logging.getLogger(__name__)

PAPER_N_GALAXIES = 632_000
"""Featured galaxies the paper clustered with its ``min_samples`` (GZ DESI after selection)."""


# ----------------------------------------------------------------------------- constraints


class Interval:
    """A numeric range (``None`` bounds are open), printed as in scikit-learn's messages."""

    def __init__(self, kind: type, low: float | None, high: float | None, none_ok: bool = False):
        self.kind, self.low, self.high, self.none_ok = kind, low, high, none_ok

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none_ok
        if isinstance(value, bool):
            return False
        number_type = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, number_type) or (self.kind is float and math.isnan(value)):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{self.kind.__name__} in [{low}, {high}]" + (" or None" if self.none_ok else "")


class Options:
    """One of a fixed set of strings, or of a set given by a function (an engine registry)."""

    def __init__(self, options: tuple[str, ...] | Callable[[], tuple[str, ...]]):
        self._options = options

    def choices(self) -> tuple[str, ...]:
        return self._options() if callable(self._options) else self._options

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.choices()

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices())


class Flag:
    """True or False."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def __str__(self) -> str:
        return "True or False"


class Text:
    """A non-empty string (or None where allowed)."""

    def __init__(self, none_ok: bool = False):
        self.none_ok = none_ok

    def accepts(self, value: Any) -> bool:
        return (value is None and self.none_ok) or (isinstance(value, str) and value.strip() != "")

    def __str__(self) -> str:
        return "a non-empty string" + (" or None" if self.none_ok else "")


class Columns:
    """A list of column names, a regular expression that compiles, or None."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, str):
            try:
                re.compile(value)
            except re.error:
                return False
            return True
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)

    def __str__(self) -> str:
        return "a list of column names, a valid regular expression or None"


def _reducer_names() -> tuple[str, ...]:
    from raregal.reduce.engines import REDUCERS

    return REDUCERS.choices()


def _clusterer_names() -> tuple[str, ...]:
    from raregal.cluster.engines import CLUSTERERS

    return CLUSTERERS.choices()


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Parameter:
    """One parameter of a search.

    Attributes
    ----------
    name : str
        The name in the API and ``run.json`` (umap-learn's and hdbscan's names).
    default : object
        The paper's value (or the library's, where the paper states none).
    constraint : object
        Has ``accepts(value)`` and a ``str`` saying what is allowed.
    help : str
        One sentence for ``--help`` and the docs.
    stage : str
        'input', 'select', 'reduce', 'cluster' or 'run': the stage whose result it changes
        (reduce parameters are the key of the stored embedding).
    type : type
        The CLI value type (int, float, str, bool).
    flag : str or None
        The CLI option when it is not ``--`` + the name with dashes (``random_state``: ``--seed``).
    width : str or None
        For a number of dimensions, what it may not exceed: 'features' (the number of feature
        columns) or 'reduced' (the dimensions UMAP receives: ``pca_components`` or the
        features). Checked by ``check_widths`` once the features are known.
    """

    name: str
    default: Any
    constraint: Any
    help: str
    stage: str
    type: type
    flag: str | None = None
    width: str | None = None

    @property
    def option(self) -> str:
        """The CLI option, e.g. ``--min-samples``."""
        return self.flag or "--" + self.name.replace("_", "-")


PARAMETERS: tuple[Parameter, ...] = (
    # inputs
    Parameter("id_column", ID_COLUMN, Text(), "Id column of the representation table.",
              "input", str),
    Parameter("morphology_id_column", None, Text(none_ok=True),
              "Id column of the morphology table (e.g. dr8_id); None: the same as id_column.",
              "input", str),
    Parameter("features", None, Columns(),
              "Feature columns: a regular expression (CLI) or a list; None finds feat_0.. or "
              "feat_pca_0...", "input", str),
    Parameter("drop_invalid", False, Flag(),
              "Drop and count rows with NaN/inf features or without morphology, instead of "
              "refusing them.", "input", bool),
    # the morphology selection
    Parameter("smooth_threshold", 0.5, Interval(float, 0.0, 1.0),
              "Remove featureless galaxies: smooth-or-featured_smooth_fraction >= this (paper).",
              "select", float),
    Parameter("edge_on_threshold", 0.3, Interval(float, 0.0, 1.0),
              "Remove edge-on disks: disk-edge-on_yes_fraction >= this (paper).", "select", float),
    Parameter("artifact_threshold", 0.3, Interval(float, 0.0, 1.0),
              "Remove artifacts: smooth-or-featured_artifact_fraction >= this (paper), unless "
              "keep_artifacts.", "select", float),
    Parameter("keep_artifacts", False, Flag(),
              "Keep artifacts: the paper's artifact experiment.", "select", bool),
    Parameter("edge_on_rule", "conditional", Options(("conditional", "joint")),
              "Read disk-edge-on_yes_fraction as published ('conditional') or multiplied by "
              "the featured-or-disk fraction ('joint').", "select", str),
    # the reduction
    Parameter("reducer", "raregal", Options(_reducer_names),
              "UMAP engine: raregal (umap-learn's objective on every core), umap-learn (the "
              "reference), cuml (GPU) or auto (cuml when installed, else raregal).",
              "reduce", str),
    Parameter("n_neighbors", 50, Interval(int, 2, None),
              "UMAP neighbourhood size (paper: 50).", "reduce", int),
    Parameter("n_components", 5, Interval(int, 1, None),
              "UMAP dimensions that are clustered (paper: 5).", "reduce", int, width="reduced"),
    Parameter("map_components", 2, Interval(int, 1, 3),
              "UMAP dimensions of the map, used only for pictures (paper: 2).", "reduce", int,
              width="reduced"),
    Parameter("min_dist", 0.1, Interval(float, 0.0, None),
              "UMAP min_dist (umap-learn's default; the paper does not state it).",
              "reduce", float),
    Parameter("metric", "euclidean",
              Options(("euclidean", "cosine", "manhattan", "correlation")),
              "UMAP input metric.", "reduce", str),
    Parameter("n_epochs", None, Interval(int, 1, None, none_ok=True),
              "UMAP epochs; None keeps umap-learn's rule (200 above 10,000 galaxies, else 500).",
              "reduce", int),
    Parameter("pca_components", None, Interval(int, 1, None, none_ok=True),
              "PCA to this many dimensions before UMAP (inputs wider than 128-D); None: no PCA.",
              "reduce", int, width="features"),
    Parameter("random_state", 0, Interval(int, 0, 2**32 - 1),
              "Seed of UMAP, PCA and the sample draw.", "reduce", int, flag="--seed"),
    Parameter("n_seeds", 1, Interval(int, 1, None),
              "UMAP layouts with seeds random_state, random_state+1, ... that share neighbours, "
              "fuzzy graph and start; each is clustered, and each cluster of the first (the "
              "run) gets seed_stability: the share of seeds in which a cluster with Jaccard >= "
              "0.5 reappears. 1: the paper's single run.", "reduce", int),
    Parameter("fit_sample_size", None, Interval(int, 2, None, none_ok=True),
              "Fit UMAP on this many galaxies drawn at random and place the others with the "
              "engine's transform (very large catalogs); None: a full fit (paper).",
              "reduce", int),
    # the clustering
    Parameter("engine", "fast_hdbscan", Options(_clusterer_names),
              "HDBSCAN engine: fast_hdbscan, hdbscan (the reference), cuml (GPU) or auto.",
              "cluster", str),
    Parameter("min_samples", 300, Interval(int, 1, None),
              "HDBSCAN density scale (paper: 300 for 632k featured galaxies; see "
              "scale_to_sample).", "cluster", int),
    Parameter("min_cluster_size", 10, Interval(int, 2, None),
              "HDBSCAN smallest cluster (paper: 10).", "cluster", int),
    Parameter("cluster_selection_method", "leaf", Options(("leaf", "eom")),
              "HDBSCAN cluster selection: leaf (paper) or eom.", "cluster", str),
    # how the run is carried out
    Parameter("scale_to_sample", False, Flag(),
              "Scale min_samples from the paper's value at 632k galaxies to the number "
              "selected (about N/2100, at least 5; min_cluster_size capped at it).", "run", bool),
    Parameter("ignore_memory_check", False, Flag(),
              "Run a stage even when its memory estimate exceeds the free memory (the estimate "
              "is still recorded in run.json).", "run", bool),
)  # fmt: skip
"""Every search parameter, in the order of ``--help``."""

PARAMETER_TABLE: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in PARAMETERS})
DEFAULTS: Mapping[str, Any] = MappingProxyType({p.name: p.default for p in PARAMETERS})
"""The paper's defaults by name; read-only."""

PAPER_MIN_SAMPLES: int = DEFAULTS["min_samples"]
PAPER_MIN_CLUSTER_SIZE: int = DEFAULTS["min_cluster_size"]


def stage_parameters(stage: str) -> tuple[str, ...]:
    """Names of the parameters of ``stage`` (see ``Parameter.stage``)."""
    return tuple(p.name for p in PARAMETERS if p.stage == stage)


REDUCE_PARAMS = stage_parameters("reduce")
"""The parameters that shape the embedding; changing only others reuses a stored embedding."""
CLUSTER_PARAMS = stage_parameters("cluster")
SELECT_PARAMS = stage_parameters("select")


def validate(params: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, checked set of parameters: ``params`` over the defaults.

    Raises
    ------
    InputError
        For an unknown name, or a value its constraint refuses; the message names the
        parameter, the allowed values and the value received.
    """
    unknown = [name for name in params if name not in PARAMETER_TABLE]
    if unknown:
        raise InputError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}; expected names from "
            f"raregal.config.PARAMETERS ({', '.join(PARAMETER_TABLE)})",
            column=unknown[0], count=len(unknown),
        )  # fmt: skip
    checked = {**DEFAULTS, **params}
    check_values(checked, PARAMETER_TABLE)
    if checked["features"] is not None and not isinstance(checked["features"], str):
        checked["features"] = list(checked["features"])
    return checked


def check_widths(n_features: int, params: Mapping[str, Any], path: Any = None) -> None:
    """Refuse dimensions that the representation cannot give (``Parameter.width``).

    ``pca_components`` may not exceed the number of feature columns, nor ``n_components`` and
    ``map_components`` the dimensions UMAP receives (``pca_components``, else the features).

    Raises
    ------
    InputError
        Naming the parameter, the allowed range and the value received, before any work.
    """
    limits = {"features": n_features, "reduced": params.get("pca_components") or n_features}
    for parameter in PARAMETERS:
        value = params.get(parameter.name)
        if parameter.width is None or value is None or value <= limits[parameter.width]:
            continue
        what = (f"the {n_features} feature columns" if parameter.width == "features" or
                not params.get("pca_components") else "pca_components")  # fmt: skip
        raise InputError(
            f"parameter {parameter.name!r} must be int in [1, {limits[parameter.width]}] (at "
            f"most {what}); got {value}", path=path, column=parameter.name, count=n_features,
        )  # fmt: skip


def check_values(values: Mapping[str, Any], table: Mapping[str, Parameter]) -> None:
    """Check each of ``values`` against its parameter's constraint in ``table``.

    Raises
    ------
    InputError
        Naming the parameter, the allowed values and the value received.
    """
    for name, value in values.items():
        constraint = table[name].constraint
        if not constraint.accepts(value):
            raise InputError(f"parameter {name!r} must be {constraint}; got {value!r}", column=name)


# ----------------------------------------------------------------------------- the discovery loop

DISCOVERY_PARAMETERS: tuple[Parameter, ...] = (
    # the weirdest-first queue (raregal.discover.anomaly)
    Parameter("anomaly_engine", "rarity", Options(("rarity", "isolation_forest")),
              "Per-galaxy anomaly score: rarity (distance to the rare_fraction-th share of the "
              "survey) or isolation_forest (the baseline).", "queue", str),
    Parameter("anomaly_neighbors", 50, Interval(int, 1, None),
              "Neighbours counted in the rarity score's reference sample.", "queue", int),
    Parameter("rare_fraction", 0.02, Interval(float, 1e-6, 0.5),
              "Groups smaller than this share of the survey stand out in the rarity score.",
              "queue", float),
    Parameter("queue_length", 1000, Interval(int, 0, None),
              "Places of the queue chosen for variety; the rest follow the score.",
              "queue", int),
    Parameter("queue_pool", 2000, Interval(int, 1, None),
              "Best-scored galaxies the varied places are chosen from.", "queue", int),
    Parameter("variety_neighbors", 20, Interval(int, 1, None),
              "Sets the unit of likeness in the queue: the pool's median distance to this "
              "neighbour.", "queue", int),
    Parameter("variety_width", 0.6, Interval(float, 0.0, None),
              "Width of the queue's likeness kernel in that unit (0: by score alone; wider: more "
              "kinds and more loners).", "queue", float),
    # search from examples (raregal.discover.examples, raregal.discover.active)
    Parameter("alpha", 1e-4, Interval(float, 1e-12, None),
              "Ridge penalty of the linear classifier, per unit of total weight (the same at any "
              "survey size).", "find", float),
    Parameter("unlabelled_weight", 1.0, Interval(float, 0.0, None),
              "Weight of an unlabelled galaxy as a negative, against 1 for an answered no.",
              "find", float),
    Parameter("round_size", 20, Interval(int, 1, None),
              "Galaxies shown for yes/no answers in each round.", "find", int),
    Parameter("uncertain_share", 0.5, Interval(float, 0.0, 1.0),
              "Share of a round given to the candidates that teach the model most (the rest "
              "are the top-ranked).", "find", float),
    PARAMETER_TABLE["random_state"],
)  # fmt: skip
"""Parameters of the discovery loop: stage 'queue' for ``raregal rank`` and ``AnomalyQueue``,
'find' for ``raregal find``, ``ExampleSearch`` and ``FindSession``; ``random_state`` is shared."""

QUEUE_PARAMETERS = (*(p for p in DISCOVERY_PARAMETERS if p.stage == "queue"),
                    PARAMETER_TABLE["random_state"])  # fmt: skip
FIND_PARAMETERS = tuple(p for p in DISCOVERY_PARAMETERS if p.stage == "find")
DISCOVERY_TABLE: Mapping[str, Parameter] = MappingProxyType(
    {p.name: p for p in DISCOVERY_PARAMETERS}
)
DISCOVERY_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {p.name: p.default for p in DISCOVERY_PARAMETERS}
)


def validate_discovery(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over the discovery defaults, checked (errors as ``validate``'s)."""
    unknown = [name for name in params if name not in DISCOVERY_TABLE]
    if unknown:
        raise InputError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}; expected names from "
            f"raregal.config.DISCOVERY_PARAMETERS ({', '.join(DISCOVERY_TABLE)})",
            column=unknown[0], count=len(unknown),
        )  # fmt: skip
    checked = {**DISCOVERY_DEFAULTS, **params}
    check_values(checked, DISCOVERY_TABLE)
    return checked


def scale_for_sample(
    n: int,
    min_samples: int = PAPER_MIN_SAMPLES,
    min_cluster_size: int = PAPER_MIN_CLUSTER_SIZE,
    reference_n: int = PAPER_N_GALAXIES,
) -> tuple[int, int]:
    """Scale the HDBSCAN density parameters from the paper's sample size to ``n`` galaxies.

    ``min_samples`` sets the density scale: a class stands out when it has a few times
    ``min_samples`` members, so it scales in proportion to N (300 at 632k featured galaxies is
    about 1 in 2100), with a floor of 5. ``min_cluster_size`` is kept (it is already small) but
    never exceeds ``min_samples``.

    Examples
    --------
    >>> scale_for_sample(632_000)
    (300, 10)
    >>> scale_for_sample(20_000)
    (9, 9)
    """
    scaled = max(5, round(min_samples * n / reference_n))
    return int(scaled), int(max(2, min(min_cluster_size, scaled)))


def plausibility_warnings(n: int, min_samples: int, min_cluster_size: int) -> list[str]:
    """Warnings for density parameters implausible for ``n`` galaxies (logged and recorded)."""
    warnings: list[str] = []
    suggested = scale_for_sample(n)[0]
    if min_samples > n / 20 and min_samples > suggested:
        warnings.append(
            f"min_samples={min_samples} is large for {n} galaxies (more than 1/20 of them): "
            f"rare classes cannot stand out; scale_for_sample suggests {suggested}"
        )
    elif n > 10 * PAPER_N_GALAXIES / PAPER_MIN_SAMPLES and min_samples < n / 50_000:
        warnings.append(
            f"min_samples={min_samples} is small for {n} galaxies: expect many tiny noisy leaves; "
            f"scale_for_sample suggests {suggested}"
        )
    if min_cluster_size > n:
        warnings.append(f"min_cluster_size={min_cluster_size} exceeds the {n} galaxies selected")
    for text in warnings:
        logger.warning(text)
    return warnings


def require_enough_galaxies(n: int, **sizes: int) -> None:
    """Refuse neighbourhood sizes that need more galaxies than there are.

    ``sizes`` are parameters such as ``min_samples=300`` or ``n_neighbors=50``; each must be
    smaller than ``n``. The one check of this kind, used by the search and by the stages.

    Raises
    ------
    InputError
        Naming the parameter, its value and the number of galaxies.
    """
    for name, value in sizes.items():
        if value >= n:
            raise InputError(
                f"{name}={value} needs more than {value} galaxies; {n} were given "
                f"(lower --{name.replace('_', '-')}, or pass --scale-to-sample)",
                column=name, count=n,
            )  # fmt: skip
