"""The discovery loop: ranked, self-describing clusters, a weirdest-first queue, search from
examples with the user in the loop (docs/discover.md).

The names below are imported on first use, so that the search, which ranks its clusters with
``raregal.discover.ranking``, loads nothing else of this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnomalyQueue": "raregal.discover.anomaly",
    "ExampleSearch": "raregal.discover.examples",
    "FindSession": "raregal.discover.active",
    "find": "raregal.discover.active",
    "rank_run": "raregal.discover.queue",
    "rank_clusters": "raregal.discover.ranking",
    "display_order": "raregal.discover.ranking",
    "load_encoded": "raregal.discover.data",
    "write_catalog": "raregal.discover.catalog",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'raregal.discover' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
