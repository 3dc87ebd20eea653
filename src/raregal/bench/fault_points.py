"""Fault points of a run folder writer, and what a run folder holds after a fault.

``FaultInjector`` counts the points at which a block of code changes a folder (each rename or
replace of a file, each removal) and the start of each stage (select, reduce, cluster), and acts
at one of them: it copies the folder as ``kill -9`` would leave it and stops the block
(``Killed``), kills the process for real, holds the block until told to go on (a race), or
makes the write fail with ENOSPC (a full disk). ``folder_state`` says what a folder holds as a
reader sees it: the committed result's tables and facts, so that two folders can be compared,
and what a clean folder must not hold (temporary files, staged or half-committed tables).

Nothing here is used by raregal itself: it drives the fault-injection suite
(``raregal.bench.faults``, ``tests/bench/test_faults.py``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

STAGE_FUNCTIONS = (("select", "raregal.select"), ("reduce", "raregal.reduce"),
                   ("cluster", "raregal.cluster"))  # fmt: skip
"""Stage functions (name, module) whose start is a fault point; core imports them at call time."""


class Killed(BaseException):
    """Stands for ``kill -9`` at a fault point: a BaseException, so that no handler of the code
    under test swallows it (``finally`` blocks still run; the folder was copied before)."""


@dataclass(frozen=True)
class FaultPoint:
    """One point at which a writer changes the folder: ``kind`` (replace, rename, unlink,
    rmtree, stage) and ``name`` (the file's name, or the stage's)."""

    index: int
    kind: str
    name: str
    source: str | None = None

    @property
    def label(self) -> str:
        """``stage:NAME``, ``write:FILE`` (a finished temporary file renamed into place),
        ``commit point``, ``move:FILE`` (rolling a commit forward) or ``remove:FILE``."""
        if self.writes_table:
            return f"write:{self.name}"
        if self.kind == "rename" and self.name == "commit":
            return "commit point"
        if self.kind in ("replace", "rename"):
            return f"move:{self.name}"
        if self.kind in ("unlink", "rmtree"):
            return f"remove:{self.name}"
        return f"{self.kind}:{self.name}"

    @property
    def writes_table(self) -> bool:
        """A temporary file being renamed into place: the end of a write."""
        return self.kind in ("replace", "rename") and bool(self.source) and (
            self.source.endswith(".tmp"))  # fmt: skip


@dataclass
class FaultInjector:
    """Count the fault points that the calling thread passes in ``folder``; act at ``at``.

    Parameters
    ----------
    folder : Path
        Only changes below this folder (and stage starts) are fault points.
    at : int or None
        The index of the point to act at (None: only count).
    action : callable
        Called with the FaultPoint (and the injector) before the change happens.
    """

    folder: Path
    at: int | None = None
    action: Callable[[FaultPoint, FaultInjector], None] | None = None
    points: list[FaultPoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self._owner = threading.get_ident()
        self._quiet = 0

    def _inside(self, path: Any) -> bool:
        try:
            return Path(os.fspath(path)).resolve().is_relative_to(self.folder)
        except (TypeError, ValueError, OSError):
            return False

    def _point(self, kind: str, name: str, source: str | None = None) -> None:
        if threading.get_ident() != self._owner or self._quiet:
            return
        point = FaultPoint(len(self.points), kind, name, source)
        self.points.append(point)
        if self.at == point.index and self.action is not None:
            with self.quiet():
                self.action(point, self)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """No fault points inside (the action's own copying and cleaning)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    @contextmanager
    def active(self) -> Iterator[FaultInjector]:
        """Patch the file operations and stage functions while the block runs."""
        import importlib

        originals: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
            originals.append((owner, name, getattr(owner, name)))
            setattr(owner, name, wrapper)

        real_replace, real_rename, real_unlink = os.replace, os.rename, os.unlink
        real_rmtree = shutil.rmtree

        def two(real: Callable[..., Any], kind: str) -> Callable[..., Any]:
            def wrapper(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
                if "dst_dir_fd" not in kwargs and self._inside(dst):
                    self._point(kind, Path(os.fspath(dst)).name, Path(os.fspath(src)).name)
                return real(src, dst, *args, **kwargs)

            return wrapper

        def unlink(path: Any, *args: Any, **kwargs: Any) -> Any:
            if "dir_fd" not in kwargs and self._inside(path):
                self._point("unlink", Path(os.fspath(path)).name)
            return real_unlink(path, *args, **kwargs)

        def rmtree(path: Any, *args: Any, **kwargs: Any) -> Any:
            if self._inside(path):
                self._point("rmtree", Path(os.fspath(path)).name)
            with self.quiet():
                return real_rmtree(path, *args, **kwargs)

        patch(os, "replace", two(real_replace, "replace"))
        patch(os, "rename", two(real_rename, "rename"))
        patch(os, "unlink", unlink)
        patch(shutil, "rmtree", rmtree)
        for stage, module_name in STAGE_FUNCTIONS:
            module = importlib.import_module(module_name)
            real = getattr(module, stage)

            def started(*args: Any, _real: Any = real, _stage: str = stage, **kwargs: Any) -> Any:
                self._point("stage", _stage)
                return _real(*args, **kwargs)

            patch(module, stage, started)
        try:
            yield self
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)


# ----------------------------------------------------------------------------- actions


def snapshot_and_stop(copy_to: Path) -> Callable[[FaultPoint, FaultInjector], None]:
    """The folder as ``kill -9`` at this point leaves it is copied to ``copy_to``; then the
    writer is stopped (``Killed``) so that the copy is what is checked."""

    def action(point: FaultPoint, injector: FaultInjector) -> None:
        shutil.copytree(injector.folder, copy_to, symlinks=True)
        raise Killed(point.label)

    return action


def kill_process(point: FaultPoint, injector: FaultInjector) -> None:
    """A real ``kill -9`` of this process at the point."""
    os.kill(os.getpid(), signal.SIGKILL)


def hold(reached: threading.Event, go_on: threading.Event, timeout: float = 300.0):
    """Hold the writer at the point (a race): set ``reached``, wait for ``go_on``."""

    def action(point: FaultPoint, injector: FaultInjector) -> None:
        reached.set()
        if not go_on.wait(timeout):
            raise TimeoutError(f"nobody released the writer held at {point.label}")

    return action


def disk_full(point: FaultPoint, injector: FaultInjector) -> None:
    """The disk fills while the file being written is half done: it is cut in half, and the
    write fails with ENOSPC as the file system would report it."""
    if not point.writes_table or point.source is None:
        return
    partial = next(injector.folder.rglob(point.source), None)
    if partial is not None and partial.exists():
        size = partial.stat().st_size
        with open(partial, "r+b") as f:
            f.truncate(size // 2)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(partial or point.source))


# ----------------------------------------------------------------------------- what a folder holds


@dataclass
class FolderState:
    """A folder as readers see it.

    Attributes
    ----------
    signature : dict or None
        The committed result: each table's content hash, the stage keys, the input checksums
        and the search parameters; None for a folder that holds no result.
    error : str or None
        Why the folder could not be read as one result (an inconsistent folder).
    leftovers : list of str
        Files that a clean folder does not hold: temporary files, staged or committing tables,
        run tables that run.json does not commit.
    """

    signature: dict[str, Any] | None
    error: str | None = None
    leftovers: list[str] = field(default_factory=list)


def table_hash(df: pd.DataFrame) -> str:
    """A hash of a table's columns, dtypes and values (row order included)."""
    digest = hashlib.sha256(",".join(f"{c}:{df[c].dtype}" for c in df.columns).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def folder_state(folder: Path, finish: bool = True) -> FolderState:
    """Open ``folder`` as a reader does and describe its result.

    With ``finish`` the reader is ``RunFolder.open``, which finishes a commit that a kill
    interrupted; without, the folder is read through such a commit and not changed.
    """
    from raregal.errors import InputError
    from raregal.io import journal
    from raregal.io.runfolder import RUN_JSON, TABLES, RunFolder, read_record

    folder = Path(folder)
    if not (folder / RUN_JSON).exists() and not journal.commit_dir(folder).exists():
        return FolderState(None, leftovers=_leftovers(folder, {}))
    try:
        run = RunFolder.open(folder) if finish else RunFolder(folder, record=read_record(folder))
        tables = {name: table_hash(run.read_table(name)) for name in TABLES if run.has_table(name)}
    except InputError as exc:
        return FolderState(None, error=str(exc))
    record = run.record
    signature = {
        "tables": tables,
        "stages": {name: entry.get("key") for name, entry in record.get("stages", {}).items()},
        "inputs": {role: entry.get("checksum") for role, entry in record.get("inputs", {}).items()},
        "params": (record.get("search") or {}).get("params"),
        "counts": {k: v for k, v in record.get("counts", {}).items() if k != "images"},
    }
    committed = record.get("tables") or {}
    if set(committed) != set(tables):
        return FolderState(signature, error=f"run.json commits {sorted(committed)}, the folder "
                           f"holds {sorted(tables)}")  # fmt: skip
    leftovers = _leftovers(folder, committed)
    return FolderState(signature, leftovers=leftovers)


def _leftovers(folder: Path, committed: dict[str, Any]) -> list[str]:
    from raregal.io import journal
    from raregal.io.atomic import TMP_SUFFIX
    from raregal.io.runfolder import TABLES

    found = [p.name for p in folder.glob(f".*{TMP_SUFFIX}")]
    found += [f"{spec.filename} (not committed)" for spec in TABLES.values()
              if spec.result and spec.name not in committed
              and (folder / spec.filename).exists()]  # fmt: skip
    for place in (journal.pending_dir(folder), journal.commit_dir(folder)):
        if place.exists():
            found += [f"{place.name}/{p.name}" for p in place.iterdir()]
    return found
