"""Throughput of the survey simulator (images per second per core)."""

from __future__ import annotations

import time

from raregal.simulate.survey import make_spec, render_chunk


def benchmark_simulator(n: int = 200, size: int = 128, seed: int = 0) -> float:
    """Images per second per core: render, encode and write ``n`` PNG cutouts with their votes.

    Measured in CPU time of this process (one core), so that a busy, shared machine does not
    lower the figure; the first 20 galaxies warm the caches (GalSim tables) and are not timed.
    """
    import tempfile

    spec = make_spec(max(n, 1), seed, size).to_json()
    with tempfile.TemporaryDirectory(prefix="raregal-bench-") as tmp:
        render_chunk(tmp, spec, 0, min(20, n))
        started = time.process_time()
        render_chunk(tmp, spec, 0, n)
        return n / (time.process_time() - started)
