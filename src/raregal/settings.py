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


def lock_wait() -> float:
    """Seconds a writer waits for a run folder that another writer holds:
    ``RAREGAL_LOCK_WAIT`` (default 0: refuse at once, naming the holder)."""
    from raregal.errors import InputError

    value = os.environ.get("RAREGAL_LOCK_WAIT", "").strip()
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        raise InputError(
            f"RAREGAL_LOCK_WAIT must be a number of seconds; got {value!r}",
            column="RAREGAL_LOCK_WAIT",
        ) from None
