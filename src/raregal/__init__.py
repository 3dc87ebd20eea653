"""raregal: find rare classes of galaxies in the representations of pretrained galaxy models.

The method is that of Walmsley & Scaife (2023): select featured galaxies by their Galaxy Zoo DESI
vote fractions, reduce the representations with UMAP and find the leaf clusters of HDBSCAN.
Heavy stacks (torch, galsim, ray) are imported only where they are used.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "RareClassSearch": "raregal.search",
    "read_table": "raregal.io.tables",
    "write_table": "raregal.io.tables",
    "RunFolder": "raregal.io.runfolder",
}

__all__ = ["RareClassSearch", "RunFolder", "__version__", "read_table", "write_table"]


def __getattr__(name: str) -> Any:
    """Import public names on first use so that ``import raregal`` stays cheap."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'raregal' has no attribute {name!r}")
