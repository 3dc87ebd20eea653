"""Images to representations: decoding, models, batch inference and training.

Heavy stacks (torch, timm) are imported only inside the functions that use them.
"""

from importlib import import_module
from typing import Any

_LAZY = {
    "Preprocessing": "raregal.encode.images",
    "load_image": "raregal.encode.images",
    "Encoder": "raregal.encode.models",
    "ModelConfig": "raregal.encode.models",
    "load_model": "raregal.encode.models",
    "save_checkpoint": "raregal.encode.models",
    "embed": "raregal.encode.embed",
    "train": "raregal.encode.train",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import public names on first use so that ``import raregal.encode`` stays cheap."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'raregal.encode' has no attribute {name!r}")
