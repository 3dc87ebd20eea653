"""The parameters of a search, their paper defaults and their validation.

Names follow umap-learn and hdbscan so that one name means one thing in the API, the CLI, this
config and ``run.json``. Defaults are those of Walmsley & Scaife (2023): UMAP to 5-D with
``n_neighbors=50``; HDBSCAN with ``min_samples=300``, ``min_cluster_size=10`` and leaf selection.
The paper does not state ``min_dist``; we keep umap-learn's default, 0.1.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from raregal.errors import InputError

logger = logging.getLogger(__name__)

PAPER_N_GALAXIES = 632_000
"""Featured galaxies the paper clustered with ``min_samples=300`` (GZ DESI after selection)."""

PAPER_MIN_SAMPLES = 300
PAPER_MIN_CLUSTER_SIZE = 10

REDUCE_PARAMS = (
    "reducer", "n_components", "map_components", "n_neighbors", "min_dist", "metric",
    "n_epochs", "pca_components", "random_state", "fit_sample_size",
)  # fmt: skip
"""The parameters that shape the embedding; changing only the others reuses a stored embedding."""

CLUSTER_PARAMS = ("engine", "min_samples", "min_cluster_size", "cluster_selection_method")


@dataclass
class SearchConfig:
    """Every parameter of a search (select -> reduce -> cluster).

    Parameters
    ----------
    n_neighbors : int, default=50
        UMAP neighbourhood size (paper: 50).
    n_components : int, default=5
        Dimensions of the UMAP embedding that is clustered (paper: 5).
    map_components : int, default=2
        Dimensions of the second UMAP, used only for pictures (paper: 2).
    min_dist : float, default=0.1
        UMAP ``min_dist`` (umap-learn default; the paper does not state it).
    metric : str, default='euclidean'
        UMAP input metric.
    n_epochs : int or None, default=None
        UMAP optimisation epochs; None lets umap-learn choose (200 above 10k points, else 500).
    pca_components : int or None, default=None
        Reduce features with PCA first to this many dimensions; None keeps them (use for inputs
        wider than Zoobot's 128-D bottleneck).
    reducer : str, default='raregal'
        Reduction engine, by name (see ``raregal.reduce.REDUCERS``): 'raregal' optimises
        umap-learn's objective on every core (4.3x faster than umap-learn at 200k galaxies,
        same clusters; ``docs/benchmarks.md``); 'umap-learn' is the reference.
    engine : str, default='fast_hdbscan'
        HDBSCAN engine, by name (see ``raregal.cluster.ENGINES``); 'hdbscan' is the reference.
    min_samples : int, default=300
        HDBSCAN core-distance neighbours (paper: 300 for 632k galaxies; see scale_for_sample).
    min_cluster_size : int, default=10
        HDBSCAN smallest cluster (paper: 10).
    cluster_selection_method : {'leaf', 'eom'}, default='leaf'
        HDBSCAN cluster selection (paper: leaf).
    random_state : int, default=0
        Seed of every random step (UMAP, PCA, medoid candidates).
    fit_sample_size : int or None, default=None
        Fit UMAP on this many galaxies drawn at random and place the others with UMAP's
        ``transform`` (``raregal.sample_fit``), for samples too large for one full fit; None
        fits on every galaxy (the paper).
    """

    n_neighbors: int = 50
    n_components: int = 5
    map_components: int = 2
    min_dist: float = 0.1
    metric: str = "euclidean"
    n_epochs: int | None = None
    pca_components: int | None = None
    reducer: str = "raregal"
    engine: str = "fast_hdbscan"
    min_samples: int = PAPER_MIN_SAMPLES
    min_cluster_size: int = PAPER_MIN_CLUSTER_SIZE
    cluster_selection_method: str = "leaf"
    random_state: int = 0
    fit_sample_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reduce_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in REDUCE_PARAMS}

    def cluster_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CLUSTER_PARAMS}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


class _Interval:
    """An allowed numeric range, printed as in scikit-learn's error messages."""

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
        text = f"{self.kind.__name__} in [{low}, {high}]"
        return text + (" or None" if self.none_ok else "")


class _Options:
    def __init__(self, options: tuple[str, ...] | None = None, registry: str | None = None):
        self.options, self.registry = options, registry

    def choices(self) -> tuple[str, ...]:
        if self.registry == "reducers":
            from raregal.reduce import REDUCERS

            return tuple(REDUCERS)
        if self.registry == "engines":
            from raregal.cluster import ENGINES

            return tuple(ENGINES)
        return self.options or ()

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.choices()

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices())


PARAMETER_CONSTRAINTS: dict[str, Any] = {
    "n_neighbors": _Interval(int, 2, None),
    "n_components": _Interval(int, 1, None),
    "map_components": _Interval(int, 1, 3),
    "min_dist": _Interval(float, 0.0, None),
    "metric": _Options(("euclidean", "cosine", "manhattan", "correlation")),
    "n_epochs": _Interval(int, 1, None, none_ok=True),
    "pca_components": _Interval(int, 1, None, none_ok=True),
    "reducer": _Options(registry="reducers"),
    "engine": _Options(registry="engines"),
    "min_samples": _Interval(int, 1, None),
    "min_cluster_size": _Interval(int, 2, None),
    "cluster_selection_method": _Options(("leaf", "eom")),
    "random_state": _Interval(int, 0, 2**32 - 1),
    "fit_sample_size": _Interval(int, 2, None, none_ok=True),
}
"""One table of allowed values, checked by ``validate`` at fit time."""


def validate(config: SearchConfig) -> SearchConfig:
    """Check every parameter against PARAMETER_CONSTRAINTS; the error names parameter,
    allowed values and the value received."""
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        value = getattr(config, name)
        if not constraint.accepts(value):
            raise InputError(f"parameter {name!r} must be {constraint}; got {value!r}", column=name)
    return config


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
    if min_samples >= n:
        warnings.append(f"min_samples={min_samples} is not smaller than the {n} galaxies selected")
    elif min_samples > n / 20 and min_samples > scale_for_sample(n)[0]:
        warnings.append(
            f"min_samples={min_samples} is large for {n} galaxies (more than 1/20 of them): "
            f"rare classes cannot stand out; scale_for_sample suggests {scale_for_sample(n)[0]}"
        )
    elif n > 10 * PAPER_N_GALAXIES / PAPER_MIN_SAMPLES and min_samples < n / 50_000:
        warnings.append(
            f"min_samples={min_samples} is small for {n} galaxies: expect many tiny noisy leaves; "
            f"scale_for_sample suggests {scale_for_sample(n)[0]}"
        )
    if min_cluster_size > n:
        warnings.append(f"min_cluster_size={min_cluster_size} exceeds the {n} galaxies selected")
    for text in warnings:
        logger.warning(text)
    return warnings
