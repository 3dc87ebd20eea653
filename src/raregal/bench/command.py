"""The ``command`` suite: ``raregal search`` as users run it, against the reference script.

Both sides run as commands in their own process on the same Parquet table and are timed from
the outside, end to end: interpreter start, imports, compiled code, reading, the morphology
selection, the 5-D layout, the 2-D map, HDBSCAN and writing the results. raregal is the
``raregal search`` command; the reference is ``reference_search.py`` (``umap.UMAP`` 5-D and 2-D
and ``hdbscan.HDBSCAN``, leaf clusters, as a user of those libraries writes it).

- Tables (``command_table``): generated 128-D representations with planted groups and GZ DESI
  vote fractions (``raregal.synthetic``); the paper's selection keeps about 55% of the rows, so
  a table of ``n / KEEP_FRACTION`` rows leaves about ``n`` galaxies to cluster. The planted
  groups are ``raregal.bench.data.group_sizes(n)``; the density parameters are
  ``raregal.config.scale_for_sample(n)`` on both sides. Seed ``s`` draws table ``s`` and runs
  raregal with ``--seed s`` (the reference's UMAPs are unseeded, as in the recipe).
- Peak memory: the largest resident size of the command's whole process tree (workers
  included), sampled every 0.2 s, or the kernel's high-water mark of any one process of it
  (``VmHWM``, read at each sample), whichever is larger. Not ``wait4``'s ``ru_maxrss``: a child
  inherits its parent's mark across fork and exec, so a command started from a large process
  (pytest, the benchmark itself) would report that process's size.
- Compiled code: raregal's numba kernels are cached on disk (``NUMBA_CACHE_DIR``). The timed runs
  use a cache that earlier runs filled, as every run after a user's first does; ``compile_cost``
  runs both commands on a small table with an empty cache and again with a full one, and
  reports the difference (what a first run pays).
- Seeds (issue 15): with the ``raregal-3-seeds`` side, each size's first seed also runs
  ``raregal search --n-seeds 3`` (three layouts sharing the neighbours, the graph and the start),
  timed against the one-seed command and the reference on the same table.
- Records are kept in ``work/command`` and not run again (an interrupted run resumes).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raregal.bench.data import group_sizes
from raregal.bench.machine import load_average
from raregal.bench.quality import recovery_from_frame
from raregal.config import scale_for_sample
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)

KEEP_FRACTION = 0.5525
"""Share of generated rows the paper's selection keeps (``raregal.synthetic``'s vote
fractions; measured: 55.1-55.4% of 100,000 rows for seeds 0 and 1)."""
SIDES = ("raregal", "reference")
SEEDS_SIDE = "raregal-3-seeds"
"""``raregal search --n-seeds SEEDS_SIDE_SEEDS`` on each size's first table."""
SEEDS_SIDE_SEEDS = 3
REFERENCE_SCRIPT = Path(__file__).with_name("reference_search.py")
SAMPLE_EVERY_S = 0.2
WARM_UP_N = 20_000
WAIT_POLICY = "PASSIVE"


def command_table(work: Path, n: int, seed: int) -> Path:
    """The cached Parquet table for ``n`` selected galaxies and ``seed`` (made once)."""
    from raregal.synthetic import write_representations

    path = work / "data" / f"command_n{n}_s{seed}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        n_rows = round(n / KEEP_FRACTION)
        logger.info("writing %s (%d rows)", path, n_rows)
        write_representations(path, n_rows, group_sizes=group_sizes(n), seed=seed,
                              morphology=True)  # fmt: skip
    return path


def _tree_memory(root: int) -> tuple[int, int]:
    """Resident bytes of ``root`` and all its descendants, and the largest high-water mark
    (``VmHWM``) among them (0, 0 once they are gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    hwm: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0")), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        hwm[pid] = int(fields.get("VmHWM", "0 kB").split()[0]) * 1024
    total, largest, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        largest = max(largest, hwm.get(pid, 0))
        stack.extend(children.get(pid, []))
    return total, largest


def run_measured(command: Sequence[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``command``; its wall time, CPU time, exit status and peak memory (GiB)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak, own_peak = [0], [0]
    with open(log, "a") as handle:
        handle.write("$ " + " ".join(map(str, command)) + "\n")
        handle.flush()
        start = time.perf_counter()
        process = subprocess.Popen(list(map(str, command)), stdout=handle,
                                   stderr=subprocess.STDOUT, env=env)  # fmt: skip
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_EVERY_S):
                total, largest = _tree_memory(process.pid)
                peak[0], own_peak[0] = max(peak[0], total), max(own_peak[0], largest)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(wall, 2), "returncode": process.returncode,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_gib": round(max(peak[0], own_peak[0]) / 2**30, 3),
        "peak_process_gib": round(own_peak[0] / 2**30, 3),
    }  # fmt: skip


def raregal_command(table: Path, out: Path, min_samples: int, min_cluster_size: int, seed: int,
                    extra: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """``raregal search`` as a user types it (the console script beside this interpreter)."""
    script = Path(sys.executable).with_name("raregal")
    head = [str(script)] if script.exists() else [
        sys.executable, "-c", "from raregal.cli import main; main()"]  # fmt: skip
    return [*head, "search", str(table), "--out", str(out), "--min-samples", str(min_samples),
            "--min-cluster-size", str(min_cluster_size), "--seed", str(seed), *extra]  # fmt: skip


def reference_command(table: Path, out: Path, min_samples: int,
                      min_cluster_size: int) -> list[str]:  # fmt: skip
    """The reference script, run as a file so that it imports nothing of raregal's."""
    return [sys.executable, str(REFERENCE_SCRIPT), str(table), str(out), "--min-samples",
            str(min_samples), "--min-cluster-size", str(min_cluster_size)]  # fmt: skip


def command_env(cache: Path) -> dict[str, str]:
    """Our environment with numba's cache in ``cache`` and OpenMP threads that sleep."""
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", WAIT_POLICY)}  # fmt: skip


def _groups(table: Path) -> pd.DataFrame:
    return pd.read_parquet(table, columns=["id_str", "true_class"])


def raregal_figures(out: Path, table: Path) -> dict[str, Any]:
    """Stage seconds, counts and recovery from a ``raregal search`` run folder."""
    record = json.loads((out / "run.json").read_text())
    stages = record.get("stages", {})
    steps = {f"{name}.{step}": value for name, stage in stages.items()
             for step, value in (stage.get("timings") or {}).items()}  # fmt: skip
    figures: dict[str, Any] = {
        "stages_s": {name: stage.get("seconds") for name, stage in stages.items()},
        "steps_s": steps, "selected": record.get("counts", {}).get("selected"),
    }  # fmt: skip
    galaxies = pd.read_parquet(out / "galaxies.parquet", columns=["id_str", "cluster"])
    frame = galaxies.merge(_groups(table), on="id_str", how="left")
    figures.update(_quality(frame))
    return figures


def reference_figures(out: Path, table: Path) -> dict[str, Any]:
    """Step seconds and recovery from the reference script's outputs."""
    timings = json.loads((out / "timings.json").read_text())
    galaxies = pd.read_parquet(out / "galaxies.parquet", columns=["id_str", "cluster"])
    frame = galaxies.merge(_groups(table), on="id_str", how="left")
    figures = {"steps_s": timings, "selected": len(galaxies)}
    figures.update(_quality(frame))
    return figures


def _quality(frame: pd.DataFrame) -> dict[str, Any]:
    labels = frame["cluster"].to_numpy()
    found = recovery_from_frame(frame[["true_class", "cluster"]])
    held = [c["fraction_held"] for c in found["per_class"].values()]
    return {
        "recovery": found, "recovered": found["recovered"], "classes": found["classes"],
        "mean_fraction_held": round(float(np.mean(held)), 3) if held else None,
        "min_fraction_held": round(float(np.min(held)), 3) if held else None,
        "clustered_fraction": round(float((labels >= 0).mean()), 4),
        "clusters": int(labels.max() + 1) if len(labels) else 0,
    }  # fmt: skip


def measure(
    side: str, table: Path, folder: Path, n: int, seed: int, cache: Path,
    extra: Sequence[str] = (), label: str | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """One timed command (kept in ``folder/<label>.json``; not run again when there)."""
    label = label or side
    record_path = folder / f"{label}.json"
    if record_path.exists():
        logger.info("kept %s (already measured)", record_path)
        return json.loads(record_path.read_text())
    min_samples, min_cluster_size = scale_for_sample(n)
    out = folder / f"{label}.run"
    shutil.rmtree(out, ignore_errors=True)
    if side == SEEDS_SIDE:
        extra = [*extra, "--n-seeds", str(SEEDS_SIDE_SEEDS)]
    if side in ("raregal", SEEDS_SIDE):
        command = raregal_command(table, out, min_samples, min_cluster_size, seed, extra)
    else:
        command = reference_command(table, out, min_samples, min_cluster_size)
    before = load_average()
    logger.info("running %s at n=%d, seed %d", label, n, seed)
    record: dict[str, Any] = {"side": side, "n": n, "seed": seed, "table": str(table),
                              "command": [Path(command[0]).name, *command[1:]],
                              "min_samples": min_samples, "min_cluster_size": min_cluster_size,
                              "load_average_before": before}  # fmt: skip
    record.update(run_measured(command, command_env(cache), folder / "commands.log"))
    record["load_average_after"] = load_average()
    if record["returncode"] != 0:
        logger.error("%s failed (exit %d); see %s", label, record["returncode"],
                     folder / "commands.log")  # fmt: skip
        return None
    figures = reference_figures if side == "reference" else raregal_figures
    record.update(figures(out, table))
    if side != "reference":  # start-up, imports, reading and writing: outside the stages
        inside = sum(v for v in record["stages_s"].values() if isinstance(v, (int, float)))
        record["steps_s"]["outside_stages"] = round(record["wall_s"] - inside, 2)
    shutil.rmtree(out, ignore_errors=True)
    with atomic_path(record_path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1))
    return record


def compile_cost(work: Path, n: int = WARM_UP_N, sides: Sequence[str] = SIDES) -> dict[str, Any]:
    """Each command on a small table with an empty numba cache, then with the cache it filled."""
    table = command_table(work, n, 0)
    folder = work / "command" / f"compile_n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"n": n}
    for side in sides:
        cache = folder / f"cache_{side}"
        if not (folder / f"{side}_cold.json").exists():
            shutil.rmtree(cache, ignore_errors=True)
        cold = measure(side, table, folder, n, 0, cache, label=f"{side}_cold")
        warm = measure(side, table, folder, n, 0, cache, label=f"{side}_warm")
        if cold and warm:
            figures[side] = {"cold_s": cold["wall_s"], "warm_s": warm["wall_s"],
                             "first_run_extra_s": round(cold["wall_s"] - warm["wall_s"], 2),
                             "cold_cpu_s": cold["cpu_s"], "warm_cpu_s": warm["cpu_s"]}  # fmt: skip
    return figures


def warm_cache(work: Path, cache: Path, sides: Sequence[str] = SIDES,
               n: int = WARM_UP_N) -> dict[str, Any]:  # fmt: skip
    """Fill the timed runs' numba cache as a user's earlier runs would (untimed, once): each
    side on a small table, and raregal once more with a sample fit (its placement path)."""
    table = command_table(work, n, 0)
    folder = work / "command" / "warm_up"
    runs = {side: measure(side, table, folder, n, 0, cache) for side in sides if side in SIDES}
    if "raregal" in sides:
        runs["raregal_sample_fit"] = measure("raregal", table, folder, n, 0, cache,
                                             ["--fit-sample-size", str(n // 2)],
                                             label="raregal_sample_fit")  # fmt: skip
    return {name: (record or {}).get("wall_s") for name, record in runs.items()}


def summarise(n: int, runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Speed-ups, peaks and recovery (mean and worst over seeds) of one size."""
    summary: dict[str, Any] = {"n": n, "seeds": sorted(runs)}
    for side in SIDES:
        records = [r[side] for r in runs.values() if r.get(side)]
        if not records:
            continue
        recovered = [r["recovered"] for r in records]
        held = [r["mean_fraction_held"] for r in records]
        worst_held = [r["min_fraction_held"] for r in records]
        summary[side] = {
            "wall_s": [r["wall_s"] for r in records],
            "mean_wall_s": round(float(np.mean([r["wall_s"] for r in records])), 1),
            "max_peak_gib": max(r["peak_gib"] for r in records),
            "recovered": recovered, "classes": records[0]["classes"],
            "mean_recovered": round(float(np.mean(recovered)), 2),
            "worst_recovered": min(recovered),
            "mean_fraction_held": round(float(np.mean(held)), 3),
            "worst_fraction_held": round(float(np.min(worst_held)), 3),
        }  # fmt: skip
    pairs = [(r["reference"]["wall_s"], r["raregal"]["wall_s"]) for r in runs.values()
             if r.get("raregal") and r.get("reference")]  # fmt: skip
    if pairs:
        summary["speedup_per_seed"] = [round(ref / ours, 2) for ref, ours in pairs]
        summary["speedup_total"] = round(sum(p[0] for p in pairs) / sum(p[1] for p in pairs), 2)
    seeds = [r for r in runs.values() if r.get(SEEDS_SIDE)]
    if seeds:
        first = seeds[0]
        several = first[SEEDS_SIDE]
        summary[SEEDS_SIDE] = {
            "wall_s": several["wall_s"], "peak_gib": several["peak_gib"],
            "recovered": several["recovered"], "classes": several["classes"],
            "over_one_seed": (round(several["wall_s"] / first["raregal"]["wall_s"], 2)
                              if first.get("raregal") else None),
            "over_reference": (round(several["wall_s"] / first["reference"]["wall_s"], 2)
                               if first.get("reference") else None),
        }  # fmt: skip
    return summary


def run_command_suite(
    work: Path, sizes: Sequence[int], seeds: Sequence[int], sides: Sequence[str] = SIDES,
    compile_n: int | None = WARM_UP_N, large: dict[str, Any] | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The suite: compile cost, then every (size, seed) pair, then the optional large run.

    Parameters
    ----------
    work : Path
        Tables, the numba cache and the records (resumable).
    sizes, seeds : sequences of int
        Selected galaxies per table, and seeds (one table and one raregal seed each).
    sides : sequence of str, default=('raregal', 'reference')
        With ``SEEDS_SIDE``, each size's first seed also runs ``--n-seeds 3``.
    compile_n : int or None, default=20_000
        Size of the cold/warm compile-cost runs; None skips them.
    large : dict, default=None
        ``{"n": 2_000_000, "fit_sample_size": ...}``: one raregal-only run at that size.
    on_step : callable, default=None
        Called with the suite's figures so far after each measured size (partial results).
    """
    result: dict[str, Any] = {"sizes": {}}
    if compile_n:
        result["compile_cost"] = compile_cost(work, compile_n, sides)
    cache = work / "command" / "numba_cache"
    warm_n = min(WARM_UP_N, *sizes) if sizes else WARM_UP_N
    result["warm_up"] = warm_cache(work, cache, sides, warm_n)
    for n in sizes:
        runs: dict[int, dict[str, Any]] = {}
        for seed in seeds:
            table = command_table(work, n, seed)
            folder = work / "command" / f"n{n}_s{seed}"
            runs[seed] = {side: measure(side, table, folder, n, seed, cache) for side in sides
                          if side in SIDES or seed == seeds[0]}  # fmt: skip
            result["sizes"][str(n)] = {"summary": summarise(n, runs), "runs": runs}
            if on_step is not None:
                on_step(result)
    if large:
        n = int(large["n"])
        extra = ["--fit-sample-size", str(large["fit_sample_size"])] if large.get(
            "fit_sample_size") else []  # fmt: skip
        table = command_table(work, n, 0)
        record = measure("raregal", table, work / "command" / f"large_n{n}", n, 0, cache, extra)
        result["large"] = record
    return result
