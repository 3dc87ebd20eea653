"""Settings read from environment variables; nothing here has side effects at import."""

from __future__ import annotations

import os


def num_threads() -> int:
    """Threads for numba and torch: ``RAREGAL_NUM_THREADS`` or every core."""
    value = os.environ.get("RAREGAL_NUM_THREADS")
    return int(value) if value else (os.cpu_count() or 1)


def demo_model_path() -> str | None:
    """Override for the bundled demo encoder: ``RAREGAL_DEMO_MODEL``."""
    return os.environ.get("RAREGAL_DEMO_MODEL")
