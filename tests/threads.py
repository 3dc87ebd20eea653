"""A context manager for tests that compare results on one and on two numba threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba


@contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """Run the block on ``n`` numba threads (at most the pool's size), then restore the count."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
