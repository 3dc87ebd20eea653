"""Peak resident memory of this process, per stage, from /proc (no psutil).

Linux keeps the high-water mark of resident memory (``VmHWM``); writing ``5`` to
``/proc/self/clear_refs`` resets it, so each stage's own peak can be read. Where that is not
allowed the mark only grows, and the stage peak is an upper bound (``resettable`` says which).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    """High-water mark of resident memory since start or the last reset."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> bool:
    """Reset the high-water mark to the current resident size; False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def stage(record: dict[str, Any], name: str) -> Iterator[None]:
    """Time the block and record ``{name}_s`` and ``{name}_peak_gib`` in ``record``."""
    resettable = reset_peak()
    start = time.perf_counter()
    yield
    record[f"{name}_s"] = round(time.perf_counter() - start, 2)
    record[f"{name}_peak_gib"] = round(peak_rss_bytes() / 2**30, 3)
    record.setdefault("peak_resettable", resettable)


def process_peak_gib() -> float:
    """Peak resident memory of the whole process so far (never reset)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
