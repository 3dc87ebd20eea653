"""Throughput suite: calls the other stages' own benchmark functions (never re-implements them).

- simulator: ``raregal.bench.simulate.benchmark_simulator`` (images per second, one core, at
  the demo's size);
- encoder: ``raregal.bench.embed.benchmark_embed`` on cutouts of a small simulated survey;
- explorer: ``raregal.bench.explore.benchmark_explore`` (page-usable time in Chromium) and
  ``benchmark_neighbours`` ('more like this' index build, query, recall).

A hook that fails is recorded with its error (and logged), so one missing browser does not hide
the other figures.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _simulator(quick: bool) -> dict[str, Any]:
    """At the demo's size: the bundled encoder's input, at which the demo renders its survey."""
    from raregal.bench.simulate import benchmark_simulator
    from raregal.encode.models import model_card

    n = 20 if quick else 200
    size = int(model_card("demo")["image_size"] or 128)
    rate = benchmark_simulator(n=n, size=size)
    return {"n": n, "size": size, "images_per_s_one_core": round(rate, 2)}


def _encoder(quick: bool) -> dict[str, Any]:
    from raregal.bench.embed import benchmark_embed
    from raregal.io.tables import read_table
    from raregal.simulate.survey import simulate_survey

    n_survey, n_images = (16, 16) if quick else (64, 256)
    image_size, batch = (64, 8) if quick else (224, 64)
    with tempfile.TemporaryDirectory(prefix="raregal-bench-") as tmp:
        catalog = simulate_survey(Path(tmp) / "survey", n=n_survey, seed=0, workers=1,
                                  contact_sheets=False, progress=False)  # fmt: skip
        first = Path(read_table(catalog)["file_loc"].iloc[0])
        folder = first if first.is_absolute() else catalog.parent / first
        result = benchmark_embed(folder.parent, n_images=n_images, image_size=image_size,
                                 batch_size=batch)  # fmt: skip
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def _explorer(quick: bool) -> dict[str, Any]:
    from raregal.bench.explore import benchmark_explore

    return benchmark_explore(n=2_000 if quick else 600_000, repeats=1 if quick else 3)


def _neighbours(quick: bool) -> dict[str, Any]:
    from raregal.bench.explore import benchmark_neighbours

    return benchmark_neighbours(n=2_000 if quick else 100_000)


HOOKS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "simulator": _simulator,
    "encoder": _encoder,
    "explorer": _explorer,
    "explorer_neighbours": _neighbours,
}


def run_throughput(quick: bool = False, hooks: tuple[str, ...] = tuple(HOOKS)) -> dict[str, Any]:
    """Run each hook; one row per hook with its figures (or its error)."""
    rows: list[dict[str, Any]] = []
    for name in hooks:
        start = time.perf_counter()
        try:
            figures = HOOKS[name](quick)
        except Exception as exc:  # a hook's failure is a figure too: recorded, not hidden
            logger.exception("throughput hook %s failed", name)
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        figures["seconds"] = round(time.perf_counter() - start, 1)
        rows.append({"hook": name, "figures": figures})
    return {"rows": [{"hook": r["hook"], **_headline(r["figures"])} for r in rows],
            "details": {r["hook"]: r["figures"] for r in rows}}  # fmt: skip


def _headline(figures: dict[str, Any]) -> dict[str, Any]:
    """The scalar figures of a hook, for the Markdown table."""
    scalars = {k: v for k, v in figures.items() if isinstance(v, (int, float, str, bool))}
    return {"figures": ", ".join(f"{k}={v}" for k, v in scalars.items())}
