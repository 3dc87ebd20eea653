"""The fast-math flags of raregal's numba kernels."""

from __future__ import annotations

FAST_MATH = {"nnan", "ninf", "nsz", "arcp", "afn", "contract"}
"""LLVM's fast-math flags less ``reassoc``: with it, a kernel compiled in this process and the
same kernel loaded from numba's cache gave different layouts on one thread (a first run differed
from every later one); without it they agree, at the same speed (100k rows, 100 epochs). Every
kernel with fast math takes these (the layout's ``_epoch`` and the gradient-table ``lookup``
inlined into it)."""
