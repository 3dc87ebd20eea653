"""Run the benchmark suites and write ``bench.json`` and ``bench.md`` (atomically) to ``out``.

Suites, by name: ``recovery`` (planted classes across seeds, and the artifact experiment),
``stability`` (across UMAP seeds, each a whole search), ``seeds`` (one search with three seeds
sharing neighbours, graph and start: stability and cost), ``predict`` (new galaxies into a run:
self-consistency, held-out recovery, speed), ``speed`` (raregal, raregal with three seeds and the
reference, scaling sweep), ``throughput`` (the simulator's, encoder's and explorer's own
benchmark functions) and ``discovery`` (search from examples, the weirdest-first queue and the
cluster ranking on the demo survey). ``quick``
shrinks every size so that the whole run takes about a minute (the CI smoke test). Results of a
suite run earlier into the same ``out`` are kept when that suite is not run again.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from raregal.bench.machine import machine, timestamp, versions
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)

PAPER_SIZES = (50_000, 100_000, 200_000, 632_000)
QUICK_SIZES = (3_000, 6_000)
COMMAND_SIZES = (200_000, 632_000)
"""Sizes of the ``command`` suite (``raregal search`` against the reference script)."""
DISCOVERY_SEEDS = (0, 5)
"""Demo seeds of the discovery suite (the README's)."""


@dataclass
class BenchParams:
    """What to run.

    Parameters
    ----------
    out : Path
        Where ``bench.json`` and ``bench.md`` go.
    work : Path, default=benchmarks/work
        Cached data, embeddings and per-configuration records (resumable; not committed).
    only : list of str, default=all suites
    quick : bool, default=False
        Tiny sizes: a smoke test, not figures.
    sizes : list of int, default=None
        Speed-suite sizes; None means PAPER_SIZES (QUICK_SIZES with ``quick``).
    seeds : list of int, default=None
        Seeds of the recovery and stability suites; None means 0, 1, 2 (0, 1 with ``quick``).
    quality_size : int, default=None
        Rows of the recovery and stability data sets; None means 20,000 (2,000 with ``quick``).
    configs : list of str, default=every one of ``raregal.bench.speed.CONFIGS``
        Speed-suite configurations (raregal, raregal-3-seeds, reference).
    collect : bool, default=False
        Speed suite: gather finished records from ``work`` without running anything.
    image_n : int, default=None
        Galaxies of the image-level recovery and predict runs (the demo's simulated survey
        through the bundled encoder; recovery with and without the artifact rule); None means
        the demo's size (none with ``quick``); 0 skips them.
    predict_n, predict_fit_n : int, default=None
        Predict suite: new galaxies placed, and galaxies of the run they go into, for the speed
        figure; None means 100,000 and 100,000 (2,000 and 3,000 with ``quick``).
    compile_n : int, default=None
        ``command`` suite: table size of the cold/warm compile-cost runs; None means 20,000
        (none with ``quick``); 0 skips them.
    large_n : int, default=None
        ``command`` suite: one more ``raregal search`` at this many galaxies (the 2M run).
    fit_sample_size : int, default=None
        ``--fit-sample-size`` of that large run.
    """

    out: Path
    work: Path = Path("benchmarks/work")
    only: list[str] = field(default_factory=list)
    quick: bool = False
    sizes: list[int] | None = None
    seeds: list[int] | None = None
    quality_size: int | None = None
    configs: list[str] = field(default_factory=lambda: ["raregal", "raregal-3-seeds", "reference"])
    collect: bool = False
    image_n: int | None = None
    compile_n: int | None = None
    large_n: int | None = None
    fit_sample_size: int | None = None
    predict_n: int | None = None
    predict_fit_n: int | None = None

    def resolved_predict_sizes(self) -> tuple[int, int]:
        """(galaxies of the run, new galaxies placed) of the predict suite's speed figure."""
        fit_n = self.predict_fit_n or (3_000 if self.quick else 100_000)
        return fit_n, self.predict_n or (2_000 if self.quick else 100_000)

    def resolved_image_n(self) -> int:
        if self.image_n is not None:
            return self.image_n
        from raregal.demo import DEMO_N

        return 0 if self.quick else DEMO_N

    def resolved_sizes(self) -> list[int]:
        return list(self.sizes or (QUICK_SIZES if self.quick else PAPER_SIZES))

    def resolved_seeds(self) -> list[int]:
        return list(self.seeds or ([0, 1] if self.quick else [0, 1, 2]))

    def resolved_quality_size(self) -> int:
        return int(self.quality_size or (2_000 if self.quick else 20_000))


def _command(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.command import SEEDS_SIDE, SIDES, run_command_suite

    sizes = params.sizes or ([2_000] if params.quick else list(COMMAND_SIZES))
    compile_n = params.compile_n if params.compile_n is not None else (
        0 if params.quick else 20_000)  # fmt: skip
    sides = [c for c in params.configs if c in (*SIDES, SEEDS_SIDE)]
    large = ({"n": params.large_n, "fit_sample_size": params.fit_sample_size}
             if params.large_n else None)  # fmt: skip
    not_repeated = [key for key, ran in (("large", large), ("compile_cost", compile_n)) if not ran]
    # read before the partial results overwrite bench.json
    kept = earlier_runs(params.out / "bench.json", not_repeated)

    def with_kept(result: dict[str, Any]) -> None:
        partial({**result, **kept})

    result = run_command_suite(params.work, sizes, params.resolved_seeds(), sides,
                               compile_n or None, large, on_step=with_kept)  # fmt: skip
    return {**result, **kept}


def earlier_runs(json_path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """The last recorded large run and compile cost (``keys``) of the command suite in
    ``json_path``, each marked as earlier (its own start time and machine): a rerun of the sizes
    that does not repeat them keeps them in bench.md instead of losing them."""
    if not keys or not json_path.exists():
        return {}
    earlier = json.loads(json_path.read_text()).get("suites", {}).get("command", {})
    kept = {}
    for key in keys:
        if earlier.get(key):
            kept[key] = earlier[key]
            kept[key].setdefault("earlier_run", {"started": earlier.get("started"),
                                                 "machine": earlier.get("machine")})  # fmt: skip
    return kept


def _map(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.map_quality import run_map_quality

    n = params.quality_size or (2_000 if params.quick else 50_000)
    return run_map_quality(n, params.resolved_seeds(), params.out)


def _speed(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.speed import run_speed

    return run_speed(params.work, params.resolved_sizes(), configs=params.configs,
                     collect=params.collect, on_size=partial)  # fmt: skip


def _recovery(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.recovery import run_recovery

    return run_recovery(
        params.resolved_quality_size(), params.resolved_seeds(), params.resolved_image_n()
    )


def _stability(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.stability import run_stability

    return run_stability(params.resolved_quality_size(), params.resolved_seeds())


def _seeds(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.seeds import run_seeds

    return run_seeds(params.resolved_quality_size())


def _predict(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.predict import run_predict

    fit_n, predict_n = params.resolved_predict_sizes()
    return run_predict(params.resolved_quality_size(), params.work / "predict", fit_n, predict_n,
                       params.resolved_image_n())  # fmt: skip


def _throughput(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.throughput import run_throughput

    return run_throughput(params.quick)


def _discovery(params: BenchParams, partial: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    from raregal.bench.discovery import run_discovery

    return run_discovery(params.work, params.seeds or list(DISCOVERY_SEEDS), params.quick)


SUITES: dict[str, Callable[..., dict[str, Any]]] = {
    "recovery": _recovery,
    "stability": _stability,
    "seeds": _seeds,
    "predict": _predict,
    "speed": _speed,
    "throughput": _throughput,
    "command": _command,
    "map": _map,
    "discovery": _discovery,
}


def run_benchmarks(params: BenchParams, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the chosen suites; returns the whole record that ``bench.json`` holds."""
    names = params.only or list(SUITES)
    unknown = sorted(set(names) - set(SUITES))
    if unknown:
        from raregal.errors import InputError

        raise InputError(f"unknown suite(s) {unknown}; choose from {', '.join(SUITES)}")
    json_path = params.out / "bench.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    args = list(argv if argv is not None else sys.argv[1:])
    record: dict[str, Any] = {
        "timestamp": timestamp(),
        "command": "python -m raregal.bench " + shlex.join(args),
        "machine": machine(),
        "versions": versions(),
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(params).items()},
        "suites": dict(previous.get("suites", {})),
    }  # fmt: skip
    for name in names:
        logger.info("suite %s", name)
        started = timestamp()

        def partial(result: dict[str, Any], name: str = name, started: str = started) -> None:
            record["suites"][name] = {**result, "started": started, "partial": True,
                                      "machine": machine()}  # fmt: skip
            write_results(record, params.out)

        result = SUITES[name](params, partial)
        result.update({"started": started, "finished": timestamp(), "machine": machine()})
        record["suites"][name] = result
        write_results(record, params.out)
    record["machine"]["load_average_end"] = record["machine"].pop("load_average")
    write_results(record, params.out)
    return record


def write_results(record: dict[str, Any], out: Path) -> None:
    """Write ``bench.json`` and ``bench.md`` atomically."""
    from raregal.bench.report import markdown

    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "bench.json") as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=str))
    with atomic_path(out / "bench.md") as tmp:
        tmp.write_text(markdown(record))
