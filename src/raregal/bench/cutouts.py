"""Real galaxy cutouts for benchmarks: those that ship with the repository's tests.

``RAREGAL_GZ_EXAMPLES`` may name another folder of Galaxy Zoo example cutouts (with ``images/``).
"""

from __future__ import annotations

import os
from pathlib import Path

from raregal.errors import InputError

REPOSITORY_EXAMPLES = Path(__file__).resolve().parents[3] / "tests" / "data" / "gz_examples"


def example_cutouts() -> list[Path]:
    """The JPEG cutouts of ``RAREGAL_GZ_EXAMPLES`` or, by default, of the repository's tests."""
    folder = Path(os.environ.get("RAREGAL_GZ_EXAMPLES") or REPOSITORY_EXAMPLES)
    files = sorted((folder / "images").glob("*.jpg"))
    if not files:
        raise InputError("no JPEG cutouts to benchmark with (set RAREGAL_GZ_EXAMPLES)",
                         path=folder)  # fmt: skip
    return files
