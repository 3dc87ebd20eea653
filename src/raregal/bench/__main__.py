"""Run raregal's benchmarks and write JSON and Markdown results.

``python -m raregal.bench [--quick] [--only SUITE ...] [--sizes N ...] [--seeds S ...]
[--configs C ...] [--predict-n N] [--predict-fit-n N] --out DIR``
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from raregal.bench.harness import SUITES, BenchParams, run_benchmarks
from raregal.bench.speed import CONFIGS


def parse(argv: list[str]) -> BenchParams:
    parser = argparse.ArgumentParser(prog="python -m raregal.bench", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for bench.json/bench.md")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work"),
                        help="cache of data and per-config records (resumable)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--only", nargs="+", choices=list(SUITES), default=[], metavar="SUITE",
                        help=f"suites to run: {', '.join(SUITES)} (default all)")  # fmt: skip
    parser.add_argument("--sizes", nargs="+", type=int, help="speed-suite sizes")
    parser.add_argument("--seeds", nargs="+", type=int, help="recovery/stability seeds")
    parser.add_argument("--quality-size", type=int, help="rows of the recovery/stability data")
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS),
        help="speed-suite configurations",
    )  # fmt: skip
    parser.add_argument("--predict-n", type=int,
                        help="predict suite: new galaxies placed for the speed figure")
    parser.add_argument("--predict-fit-n", type=int,
                        help="predict suite: galaxies of the run they are placed into")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="speed suite: only gather finished records from --work",
    )
    parser.add_argument(
        "--image-n", type=int, help="galaxies of the image-level recovery run (0 skips it)"
    )
    args = parser.parse_args(argv)
    names = ("out", "work", "only", "quick", "sizes", "seeds", "quality_size", "configs",
             "collect", "image_n", "predict_n", "predict_fit_n")  # fmt: skip
    return BenchParams(**{name: getattr(args, name) for name in names})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_benchmarks(parse(argv), argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
