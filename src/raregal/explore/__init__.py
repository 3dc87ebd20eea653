"""The explorer: a local web page to browse a run's map, clusters, condensed tree and neighbours.

``create_app(run_dir)`` builds the FastAPI app (JSON and binary API plus the static page);
``raregal explore RUN`` serves it. Heavy stacks (fastapi, uvicorn, hnswlib, PIL) are imported only
inside the modules that use them.
"""

from importlib import import_module
from typing import Any

_LAZY = {
    "create_app": "raregal.explore.server",
    "explore": "raregal.explore.serve",
    "ExploreRun": "raregal.explore.data",
    "MarksTable": "raregal.explore.marks",
    "NeighbourIndex": "raregal.explore.neighbours",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import public names on first use so that ``import raregal.explore`` stays light."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'raregal.explore' has no attribute {name!r}")
