"""The fault-injection suite: kills, races and full disks against the run folder.

Each scenario changes a run folder from an old result to a new one (a first search into an empty
folder; a re-clustering that reuses the stored UMAP; a new input with new UMAP parameters) and is
broken at every fault point it passes (``raregal.bench.fault_points``):

- **kills**: the folder is copied as ``kill -9`` at the point leaves it; readers must see the old
  result or the new one, never a mixture; the same command run again must give the clean new
  result and leave no temporary or staged file. The stopped writer's own folder (its ``finally``
  blocks ran, as after Ctrl-C) is checked the same way. With ``real_kills``, a few points are
  also hit by a real ``kill -9`` of a child process.
- **races**: the writer is held at the point while a second writer starts on the same folder:
  it must be refused with a message naming the holder (pid, host, command, since), or, when
  told to wait, run after the first; the folder then holds the last finished result.
- **full disks**: each write fails half way with ENOSPC; the old result must stand, and the
  re-run must be clean. With ``tmpfs``, a real small tmpfs is filled (where it can be mounted).

``python -m raregal.bench.faults --out benchmarks/results`` runs the whole suite and writes
``faults.json`` and ``faults.md``; ``--quick`` runs the re-clustering scenario only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from raregal.bench.fault_points import (
    FaultInjector,
    FolderState,
    Killed,
    disk_full,
    folder_state,
    hold,
    snapshot_and_stop,
)

logger = logging.getLogger(__name__)

FAST = {"n_neighbors": 10, "n_epochs": 20, "min_samples": 10, "min_cluster_size": 10}
"""Small search parameters: a scenario's search takes well under a second once compiled."""

Command = Callable[[Path], Any]


@dataclass
class Scenario:
    """An old result (``before``, None: an empty folder) and the command that replaces it."""

    name: str
    before: Command | None
    command: Command
    other: Command
    """A different command, the second writer of a race."""


@dataclass
class Figures:
    """What the suite tried and what it found (``inconsistent`` and ``unclean`` must be 0)."""

    kills: int = 0
    real_kills: int = 0
    interrupts: int = 0
    races_refused: int = 0
    races_waited: int = 0
    disk_full: int = 0
    tmpfs_disk_full: int = 0
    inconsistent: int = 0
    unclean_reruns: int = 0
    problems: list[str] = field(default_factory=list)
    points: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def races(self) -> int:
        return self.races_refused + self.races_waited

    def summary(self) -> str:
        return (
            f"kills tried: {self.kills + self.real_kills} ({self.real_kills} real kill -9), "
            f"interrupts tried: {self.interrupts}, races tried: {self.races} "
            f"({self.races_refused} refused, {self.races_waited} waited), disk-full faults "
            f"tried: {self.disk_full + self.tmpfs_disk_full} ({self.tmpfs_disk_full} on a "
            f"real tmpfs), inconsistent folders found: {self.inconsistent}, unclean re-runs: "
            f"{self.unclean_reruns}"
        )


# ----------------------------------------------------------------------------- the scenarios


def make_inputs(root: Path, n: int = 400) -> tuple[Path, Path]:
    """Two representation tables (different galaxies) written under ``root``."""
    from raregal.synthetic import make_representations

    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in (5, 6):
        path = root / f"reps_{seed}.parquet"
        if not path.exists():
            df = make_representations(n, n_features=16, seed=seed, morphology=True,
                                      group_sizes=(60, 45))  # fmt: skip
            df.to_parquet(path)
        paths.append(path)
    return paths[0], paths[1]


def scenarios(first: Path, second: Path) -> dict[str, Scenario]:
    """The three scenarios on the two inputs."""
    from raregal.search import run_search

    def search(path: Path, **params: Any) -> Command:
        return lambda out: run_search(path, out, **{**FAST, **params})

    a = search(first)
    recluster = search(first, min_cluster_size=25)
    new_input = search(second, n_neighbors=12)
    return {
        "first_search": Scenario("first_search", None, a, new_input),
        "recluster": Scenario("recluster", a, recluster, new_input),
        "new_input": Scenario("new_input", a, new_input, recluster),
    }


def build(command: Command | None, folder: Path) -> Path:
    """``folder`` holding the result of ``command`` (nothing for None)."""
    if folder.exists():
        shutil.rmtree(folder)
    if command is None:
        folder.mkdir(parents=True)
    else:
        command(folder)
    return folder


# ----------------------------------------------------------------------------- checks


class Checker:
    """Compare folders with the clean old and new results, and count what is wrong."""

    def __init__(self, figures: Figures, old: FolderState, new: FolderState) -> None:
        self.figures, self.old, self.new = figures, old, new

    def old_or_new(self, folder: Path, what: str) -> str:
        """'old', 'new', or counts an inconsistent folder."""
        for finish in (False, True):  # as read through an unfinished commit, then finished
            state = folder_state(folder, finish=finish)
            if state.error is None and state.signature == self.old.signature:
                found = "old"
            elif state.error is None and state.signature == self.new.signature:
                found = "new"
            else:
                self.figures.inconsistent += 1
                detail = state.error or _difference(state, self.old, self.new)
                self.figures.problems.append(f"{what}: neither the old nor the new result "
                                             f"({detail})")  # fmt: skip
                return "mixture"
        return found

    def clean_new(self, folder: Path, what: str) -> None:
        state = folder_state(folder)
        if state.error or state.signature != self.new.signature or state.leftovers:
            self.figures.unclean_reruns += 1
            detail = state.error or state.leftovers or _difference(state, self.new, self.new)
            self.figures.problems.append(f"{what}: the re-run is not the clean result ({detail})")


def _difference(state: FolderState, old: FolderState, new: FolderState) -> str:
    found = state.signature or {}
    parts = []
    for key in ("tables", "stages", "inputs", "params", "counts"):
        if found.get(key) not in ((old.signature or {}).get(key), (new.signature or {}).get(key)):
            parts.append(key)
    return "differs in " + ", ".join(parts) if parts else "no result"


def count_points(scenario: Scenario, work: Path) -> list[Any]:
    """The fault points that the scenario's command passes from its old result."""
    folder = build(scenario.before, work / "count")
    with FaultInjector(folder).active() as injector:
        scenario.command(folder)
    return injector.points


# ----------------------------------------------------------------------------- kills


def run_kills(scenario: Scenario, template: Path, checker: Checker, work: Path,
              points: list[Any]) -> None:  # fmt: skip
    """Kill at every point: check the copy (kill -9) and the stopped folder (interrupt); re-run."""
    figures = checker.figures
    for point in points:
        folder = work / f"kill_{point.index}"
        killed = work / f"killed_{point.index}"
        for path in (folder, killed):
            shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(template, folder, symlinks=True)
        stopped = False
        try:
            with FaultInjector(folder, point.index, snapshot_and_stop(killed)).active():
                scenario.command(folder)
        except Killed:
            stopped = True
        if not stopped:
            figures.problems.append(f"{scenario.name}: point {point.label} was not reached")
            continue
        what = f"{scenario.name} killed at #{point.index} {point.label}"
        figures.kills += 1
        checker.old_or_new(killed, what)
        figures.interrupts += 1
        checker.old_or_new(folder, what.replace("killed", "interrupted"))
        scenario.command(killed)
        checker.clean_new(killed, what)
        for path in (folder, killed):
            shutil.rmtree(path, ignore_errors=True)


def run_real_kills(scenario: Scenario, template: Path, checker: Checker, work: Path,
                   indices: list[int], inputs: tuple[Path, Path]) -> None:  # fmt: skip
    """A real ``kill -9`` of a child process at a few points; check and re-run."""
    figures = checker.figures
    for index in indices:
        folder = work / f"real_kill_{index}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(template, folder, symlinks=True)
        code = ("import sys; from raregal.bench.faults import child_main; "
                "child_main(sys.argv[1:])")  # fmt: skip
        args = [sys.executable, "-c", code, scenario.name, str(folder), str(index),
                *map(str, inputs)]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
        if done.returncode != -9:
            figures.problems.append(f"{scenario.name}: the child at #{index} was not killed "
                                    f"(exit {done.returncode}: {done.stderr[-500:]})")  # fmt: skip
            continue
        figures.real_kills += 1
        what = f"{scenario.name} kill -9 at #{index}"
        checker.old_or_new(folder, what)
        scenario.command(folder)
        checker.clean_new(folder, what)
        shutil.rmtree(folder, ignore_errors=True)


def child_main(argv: list[str]) -> None:
    """In a child process: run a scenario's command and ``kill -9`` itself at a point."""
    from raregal.bench.fault_points import kill_process

    name, folder, index, first, second = argv
    _one_thread()
    scenario = scenarios(Path(first), Path(second))[name]
    with FaultInjector(Path(folder), int(index), lambda p, i: kill_process(p, i)).active():
        scenario.command(Path(folder))


# ----------------------------------------------------------------------------- races


def run_races(scenario: Scenario, template: Path, checker: Checker, other_new: FolderState,
              work: Path, points: list[Any]) -> None:  # fmt: skip
    """Hold the writer at each point while a second writer starts: refused, then waited for."""
    from raregal.io.lock import FolderBusyError

    figures = checker.figures
    for point in points:
        for mode in ("refused", "waited"):
            folder = work / f"race_{mode}_{point.index}"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(template, folder, symlinks=True)
            reached, go_on = threading.Event(), threading.Event()
            errors: list[BaseException] = []

            def first(folder=folder, index=point.index, reached=reached, go_on=go_on,
                      errors=errors) -> None:  # fmt: skip
                try:
                    with FaultInjector(folder, index, hold(reached, go_on)).active():
                        scenario.command(folder)
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    reached.set()

            holder = threading.Thread(target=first)
            holder.start()
            reached.wait(300)
            what = f"{scenario.name} race ({mode}) at #{point.index} {point.label}"
            if mode == "refused":
                try:
                    scenario.other(folder)
                    figures.problems.append(f"{what}: the second writer was not refused")
                except FolderBusyError as exc:
                    message = str(exc)
                    if not all(part in message for part in (f"pid {os.getpid()}", "since",
                                                            "command:")):  # fmt: skip
                        figures.problems.append(f"{what}: the refusal does not name the holder "
                                                f"({message})")  # fmt: skip
                go_on.set()
                holder.join()
                expected = checker.new
            else:
                with _lock_wait(120):
                    second = threading.Thread(target=_waiting(scenario.other, folder, errors))
                    second.start()
                    time.sleep(0.5)  # the second writer is now waiting for the lock
                    go_on.set()
                    holder.join()
                    second.join()
                expected = other_new
            if errors:
                figures.problems.append(f"{what}: a writer failed: {errors[0]!r}")
            if mode == "refused":
                figures.races_refused += 1
            else:
                figures.races_waited += 1
            state = folder_state(folder)
            if state.error or state.signature != expected.signature or state.leftovers:
                figures.inconsistent += 1
                figures.problems.append(
                    f"{what}: the folder does not hold the last result "
                    f"({state.error or state.leftovers or 'other result'})"
                )
            shutil.rmtree(folder, ignore_errors=True)


def _waiting(command: Command, folder: Path, errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            command(folder)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    return run


@contextlib.contextmanager
def _lock_wait(seconds: float) -> Iterator[None]:
    """Writers started inside wait up to ``seconds`` for a held folder (RAREGAL_LOCK_WAIT)."""
    previous = os.environ.get("RAREGAL_LOCK_WAIT")
    os.environ["RAREGAL_LOCK_WAIT"] = str(seconds)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("RAREGAL_LOCK_WAIT", None)
        else:
            os.environ["RAREGAL_LOCK_WAIT"] = previous


# ----------------------------------------------------------------------------- full disks


def run_disk_full(scenario: Scenario, template: Path, checker: Checker, work: Path,
                  points: list[Any]) -> None:  # fmt: skip
    """ENOSPC half way through each write: the old result stands; the re-run is clean."""
    figures = checker.figures
    for point in (p for p in points if p.writes_table):
        folder = work / f"full_{point.index}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(template, folder, symlinks=True)
        what = f"{scenario.name} disk full at #{point.index} {point.label}"
        try:
            with FaultInjector(folder, point.index, disk_full).active():
                scenario.command(folder)
            figures.problems.append(f"{what}: the write did not fail")
            continue
        except OSError:
            pass
        figures.disk_full += 1
        if checker.old_or_new(folder, what) == "new":
            figures.inconsistent += 1
            figures.problems.append(f"{what}: a failed run committed a result")
        scenario.command(folder)
        checker.clean_new(folder, what)
        shutil.rmtree(folder, ignore_errors=True)


def tmpfs_disk_full(work: Path, inputs: tuple[Path, Path]) -> dict[str, Any] | None:
    """Fill a real 4 MiB tmpfs (in a user and mount namespace) during ``raregal search``.

    Returns what happened (exit code and message of the failed search, whether the old result
    stood and the re-run with space was clean), or None where no tmpfs can be mounted.
    """
    if shutil.which("unshare") is None:
        return None
    mount = work / "tmpfs"
    mount.mkdir(parents=True, exist_ok=True)
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c"]
    probe = subprocess.run([*namespace, f"mount -t tmpfs -o size=1m tmpfs '{mount}'"],
                           capture_output=True, text=True)  # fmt: skip
    if probe.returncode != 0:
        return None
    code = "import sys; from raregal.bench.faults import tmpfs_child; tmpfs_child(sys.argv[1:])"
    script = (f"mount -t tmpfs -o size=4m tmpfs '{mount}' && exec '{sys.executable}' -c "
              f"'{code}' '{mount}' '{work}' '{inputs[0]}' '{inputs[1]}'")  # fmt: skip
    done = subprocess.run([*namespace, script], capture_output=True, text=True, timeout=1200)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-1000:]}
    return json.loads(lines[-1])


def tmpfs_child(argv: list[str]) -> None:
    """Inside the namespace: a search onto the tmpfs, a re-clustering on a full disk, a re-run."""
    mount, work, first, second = map(Path, argv)
    _one_thread()
    out = mount / "run"
    env = {**os.environ, "RAREGAL_NUM_THREADS": "1"}
    options = [f"--{name.replace('_', '-')}={value}" for name, value in FAST.items()]
    cli = [sys.executable, "-c", "from raregal.cli import main; main()", "search", str(first),
           "--out", str(out), *options]  # fmt: skip
    recluster = [*cli, "--min-cluster-size=25"]
    first_run = subprocess.run(cli, capture_output=True, text=True, env=env)
    old = folder_state(out)
    clean = folder_state(build(scenarios(first, second)["recluster"].command, work / "tmpfs_clean"))
    stat = os.statvfs(mount)
    free = stat.f_bavail * stat.f_frsize
    with open(mount / "filler", "wb") as f:
        f.write(b"\0" * max(free - 24 * 1024, 0))
    full = subprocess.run(recluster, capture_output=True, text=True, env=env)
    after = folder_state(out)
    (mount / "filler").unlink()
    rerun = subprocess.run(recluster, capture_output=True, text=True, env=env)
    final = folder_state(out)
    message = (full.stderr.strip().splitlines() or [""])[-1]
    print(
        json.dumps(
            {
                "first_exit": first_run.returncode,
                "exit": full.returncode,
                "message": message,
                "stderr_lines": len(full.stderr.strip().splitlines()),
                "traceback": "Traceback" in full.stderr,
                "old_stands": after.error is None and after.signature == old.signature,
                "rerun_exit": rerun.returncode,
                "rerun_clean": final.error is None
                and final.signature == clean.signature
                and not final.leftovers,
            }
        )
    )


# ----------------------------------------------------------------------------- the suite


def _one_thread() -> None:
    """One thread: raregal's UMAP layout is reproducible only there (clean results compare)."""
    import numba

    os.environ["RAREGAL_NUM_THREADS"] = "1"
    numba.set_num_threads(1)


def run_faults(work: Path, quick: bool = False, real_kills: bool = False,
               tmpfs: bool = False, races_every: int = 1) -> Figures:  # fmt: skip
    """Run the suite in ``work``; ``quick`` runs the re-clustering scenario only.

    Parameters
    ----------
    work : Path
        Scratch folder (emptied first).
    quick : bool, default=False
        Only the re-clustering scenario (the one of a kill between two table writes).
    real_kills : bool, default=False
        Also kill child processes for real at a few points of each scenario.
    tmpfs : bool, default=False
        Also fill a real tmpfs, where one can be mounted.
    races_every : int, default=1
        Race at every n-th fault point.
    """
    import numba

    start = time.perf_counter()
    threads, setting = numba.get_num_threads(), os.environ.get("RAREGAL_NUM_THREADS")
    _one_thread()
    figures = Figures()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        inputs = make_inputs(work / "inputs")
        chosen = scenarios(*inputs)
        if quick:
            chosen = {"recluster": chosen["recluster"]}
        other_results: dict[str, FolderState] = {}
        for scenario in chosen.values():
            logger.info("fault scenario %s", scenario.name)
            template = build(scenario.before, work / f"{scenario.name}_old")
            old = folder_state(template)
            new = folder_state(build(scenario.command, work / f"{scenario.name}_new"))
            if scenario.other not in other_results:
                other = build(scenario.other, work / f"{scenario.name}_other")
                other_results[scenario.name] = folder_state(other)
            checker = Checker(figures, old, new)
            points = count_points(scenario, work)
            figures.points[scenario.name] = [p.label for p in points]
            run_kills(scenario, template, checker, work, points)
            run_races(scenario, template, checker, other_results[scenario.name], work,
                      points[::races_every])  # fmt: skip
            run_disk_full(scenario, template, checker, work, points)
            if real_kills:
                picks = _real_kill_points(points)
                run_real_kills(scenario, template, checker, work, picks, inputs)
        if tmpfs:
            outcome = tmpfs_disk_full(work, inputs)
            if outcome is not None:
                _count_tmpfs(figures, outcome)
    finally:
        numba.set_num_threads(threads)
        if setting is None:
            os.environ.pop("RAREGAL_NUM_THREADS", None)
        else:
            os.environ["RAREGAL_NUM_THREADS"] = setting
    figures.seconds = round(time.perf_counter() - start, 1)
    return figures


def _real_kill_points(points: list[Any]) -> list[int]:
    """A stage start, the middle of the table writes, and the commit point."""
    picks = [p.index for p in points if p.kind == "stage"][-1:]
    writes = [p.index for p in points if p.writes_table]
    picks += writes[len(writes) // 2 : len(writes) // 2 + 1]
    picks += [p.index for p in points if p.label == "commit point"][:1]
    return sorted(set(picks))


def _count_tmpfs(figures: Figures, outcome: dict[str, Any]) -> None:
    if "error" in outcome:
        figures.problems.append(f"tmpfs: {outcome['error']}")
        return
    figures.tmpfs_disk_full += 1
    if (
        outcome.get("exit") != 2
        or "no space left" not in outcome.get("message", "")
        or (outcome.get("traceback"))
    ):
        figures.problems.append(f"tmpfs: the full disk was not one line with exit 2: {outcome}")
    if not outcome.get("old_stands"):
        figures.inconsistent += 1
        figures.problems.append(f"tmpfs: the old result did not stand: {outcome}")
    if not outcome.get("rerun_clean"):
        figures.unclean_reruns += 1
        figures.problems.append(f"tmpfs: the re-run was not clean: {outcome}")


# ----------------------------------------------------------------------------- results


def write_results(figures: Figures, out: Path, command: str) -> tuple[Path, Path]:
    """``faults.json`` and ``faults.md`` in ``out`` (atomically)."""
    from raregal.bench.machine import machine, timestamp
    from raregal.io.atomic import atomic_path

    record = {
        "timestamp": timestamp(),
        "command": command,
        "machine": machine(),
        "figures": {**asdict(figures), "races": figures.races},
        "summary": figures.summary(),
    }
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "faults.json", out / "faults.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=str))
    with atomic_path(md_path) as tmp:
        tmp.write_text(markdown(record))
    return json_path, md_path


def markdown(record: dict[str, Any]) -> str:
    """The figures as a short Markdown page."""
    f = record["figures"]
    rows = [
        ("kills (copy of the folder as kill -9 leaves it)", f["kills"]),
        ("real kill -9 of a child process", f["real_kills"]),
        ("interrupts (the stopped writer's own folder)", f["interrupts"]),
        ("races: second writer refused, naming the holder", f["races_refused"]),
        ("races: second writer waited, then ran", f["races_waited"]),
        ("disk full (ENOSPC injected half way through a write)", f["disk_full"]),
        ("disk full (a real tmpfs)", f["tmpfs_disk_full"]),
        ("**inconsistent folders found**", f["inconsistent"]),
        ("**re-runs that were not the clean result**", f["unclean_reruns"]),
    ]
    lines = [
        "# Fault injection: run-folder integrity",
        "",
        f"`{record['command']}`: {record['timestamp']}, {f['seconds']} s on "
        f"{record['machine'].get('cores', '?')} cores (load average "
        f"{', '.join(map(str, record['machine'].get('load_average', [])))}).",
        "",
        "After every fault a reader must see the old result or the new one, never a mixture, and",
        "the same command run again must give the clean new result with no stray file left.",
        "",
        "| fault | tried / found |",
        "|---|---:|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        "Fault points per scenario, in order (each is killed and raced; each write is also",
        "filled): `stage` starts a stage, `write` renames a finished temporary file into the",
        "staging folder, `commit point` renames the staging folder, `move` and `remove` roll",
        "the commit forward (run.json moves last).",
        "",
        *[
            f"- {name}: {len(points)} points ({', '.join(points)})"
            for name, points in f["points"].items()
        ],
    ]
    if f["problems"]:
        lines += ["", "Problems:", "", *[f"- {p}" for p in f["problems"]]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m raregal.bench.faults",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder for faults.json/.md")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder")
    parser.add_argument("--quick", action="store_true", help="the re-clustering scenario only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="raregal-faults-"))
    figures = run_faults(work, quick=args.quick, real_kills=not args.quick, tmpfs=not args.quick)
    shutil.rmtree(work, ignore_errors=True)
    command = "python -m raregal.bench.faults " + " ".join(argv or sys.argv[1:])
    paths = write_results(figures, args.out, command)
    print(figures.summary())
    print("written:", *paths)
    return 0 if not (figures.inconsistent or figures.unclean_reruns or figures.problems) else 1


if __name__ == "__main__":
    sys.exit(main())
